import Testing
@testable import Tensors

/// The `attention` op: its one-pass kernel gives the same values as the ops it replaces, bit for bit;
/// layouts the kernel does not take run as those ops; gradients match finite differences.
@Suite struct FusedAttentionTests {
    static func reference(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ mask: Tensor?) -> Tensor {
        var scores = q.matmul(k.transposed(-1, -2))
        if let mask { scores = scores + mask }
        return scores.softmax(dim: -1).matmul(v)
    }

    @Test(arguments: [(2, 3, 5, 7), (1, 4, 1, 9), (1, 2, 16, 16)])
    func equalsTheOpsItReplaces(_ sizes: (Int, Int, Int, Int)) throws {
        let (b, h, s, t) = sizes
        // Heads split from a [B, S, H·D] projection, as the models do: strided views, no copies.
        let q = Tensor.randn([b, s, h * 8], seed: 1).unflattened(dim: -1, sizes: [h, 8]).transposed(1, 2)
        let k = Tensor.randn([b, t, h * 8], seed: 2).unflattened(dim: -1, sizes: [h, 8]).transposed(1, 2)
        let v = Tensor.randn([b, t, h * 6], seed: 3).unflattened(dim: -1, sizes: [h, 6]).transposed(1, 2)
        var keep = [Float](repeating: 0, count: b * t)
        keep[t - 1] = -Float.greatestFiniteMagnitude          // one padded key in batch row 0
        let masks: [Tensor?] = [nil, Tensor(keep, shape: [b, 1, 1, t]), Tensor.randn([s, t], seed: 4)]
        for mask in masks {
            let fused = try #require(AttentionKernels.fused(q, k, v, mask: mask))
            #expect(withNoGrad { Tensor.attention(q, k, v, mask: mask) }.toFloatArray() == fused.toFloatArray())
            #expect(fused.shape == [b, h, s, 6])
            #expect(fused.toFloatArray() == Self.reference(q, k, v, mask).toFloatArray())
            #expect(fused.transposed(1, 2).isContiguous, "merging the heads needs no copy")
        }
    }

    @Test func otherLayoutsRunAsTheOps() {
        let q = Tensor.randn([2, 3, 4], seed: 1), k = Tensor.randn([2, 5, 4], seed: 2), v = Tensor.randn([2, 5, 6], seed: 3)
        #expect(AttentionKernels.fused(q, k, v, mask: nil) == nil, "rank 3 is not the kernel's shape")
        #expect(AttentionKernels.attention(q, k, v, mask: nil).toFloatArray() == Self.reference(q, k, v, nil).toFloatArray())
    }

    /// Gradients of q, k, v and the mask against central differences.
    @Test func gradientsMatchFiniteDifferences() {
        let q = leaf([1, 2, 3, 4], 5), k = leaf([1, 2, 5, 4], 6), v = leaf([1, 2, 5, 3], 7), mask = leaf([1, 1, 3, 5], 8)
        checkGradients([q, k, v, mask], "attention") { Tensor.attention($0[0], $0[1], $0[2], mask: $0[3]) }
    }
}
