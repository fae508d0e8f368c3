import Testing
@testable import Tensors

/// `Tensor.fusedAttention`, the inference fast path of eager attention: the same values as the ops
/// it replaces, bit for bit, and it declines whenever gradients are being recorded.
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
            let fused = try #require(Tensor.fusedAttention(q, k, v, mask: mask))
            #expect(fused.shape == [b, h, s, 6])
            #expect(fused.toFloatArray() == Self.reference(q, k, v, mask).toFloatArray())
            #expect(fused.transposed(1, 2).isContiguous, "merging the heads needs no copy")
        }
    }

    @Test func declinesWhenRecordingGradients() {
        let q = Tensor.randn([1, 2, 3, 4], seed: 1).requiringGrad()
        let k = Tensor.randn([1, 2, 3, 4], seed: 2), v = Tensor.randn([1, 2, 3, 4], seed: 3)
        #expect(Tensor.fusedAttention(q, k, v, mask: nil) == nil)
        #expect(withNoGrad { Tensor.fusedAttention(q, k, v, mask: nil) } != nil)
        #expect(Tensor.fusedAttention(Tensor.randn([2, 3, 4], seed: 1), k, v, mask: nil) == nil, "rank 3 is not its shape")
    }
}
