import Testing
@testable import Tensors

/// The blocked copy of a transposed float matrix (`ElementwiseKernels.transposeInBlocks`) equals the
/// element-by-element definition, on sizes around its 64-element blocks and on a transposed slice
/// (leading dimension larger than the rows).
@Suite struct TransposeCopyTests {
    @Test func aTransposedMatrixCopiesElementByElement() {
        for (r, c) in [(2, 2), (3, 130), (64, 64), (65, 63), (129, 7), (200, 77)] {
            let base = Tensor.randn([c, r + 5], seed: UInt64(r * 1000 + c))
            let view = base.sliced(dim: 1, start: 2, end: 2 + r).transposed(0, 1)   // [r, c], strides [1, r + 5]
            #expect(view.strides == [1, r + 5])
            let copy = view.contiguous()
            #expect(copy.isContiguous && copy.shape == [r, c])
            let b = base.toFloatArray(), out = copy.toFloatArray()
            var mismatches = 0
            for i in 0..<r { for j in 0..<c where out[i * c + j] != b[j * (r + 5) + 2 + i] { mismatches += 1 } }
            #expect(mismatches == 0, "\(r)×\(c)")
        }
    }
}
