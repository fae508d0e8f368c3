import Testing
@testable import Tensors

/// Reducing an empty dim, as PyTorch does (`torch.zeros(0, 4).sum()` is 0, `.mean()` is nan): every
/// output element is set, 0 for a sum and NaN for a mean. The whole-tensor sum of a `[0, 4]` tensor
/// used to return whatever its uninitialized output held.
@Suite struct EmptyReductionTests {
    @Test func sumsAreZeroAndMeansNaN() {
        let empty = Tensor.zeros([0, 4])
        #expect(empty.sum().item() == 0)
        #expect(empty.mean().item().isNaN)
        let columns = empty.sum(dim: 0)   // leading dims of contiguous data
        #expect(columns.shape == [4] && columns.toFloatArray() == [0, 0, 0, 0])
        #expect(empty.mean(dim: 0).toFloatArray().allSatisfy { $0.isNaN })
        let rows = Tensor.ones([3, 0]).sum(dim: 1)   // the reduced dim last
        #expect(rows.shape == [3] && rows.toFloatArray() == [0, 0, 0])
        #expect(Tensor.ones([3, 0]).mean(dim: 1).toFloatArray().allSatisfy { $0.isNaN })
        #expect(Tensor.zeros([2, 0, 3], dtype: .int64).sum(dims: [1]).toIntArray() == [0, 0, 0, 0, 0, 0])
    }
}
