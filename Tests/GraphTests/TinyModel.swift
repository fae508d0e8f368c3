import Tensors

/// A small attention-like model written as plain eager code, the way users write models: it reads
/// dims into Swift Ints, splits heads with reshape, builds an additive mask and positions.
/// Keep its lines stable: the golden IR names them.
struct TinyModel {
    let embedding = Tensor.randn([11, 8], seed: 1)
    let projection = Tensor.randn([8, 8], std: 0.3, seed: 2)

    var constants: [String: Tensor] { ["embedding.weight": embedding, "projection.weight": projection] }

    func callAsFunction(_ inputs: [String: Tensor]) -> [(name: String, tensor: Tensor)] {
        let ids = inputs["input_ids"]!, mask = inputs["attention_mask"]!
        let x = embedding.indexSelect(dim: 0, index: ids)
        let b = x.size(0), s = x.size(1)
        let heads = x.reshaped([b, s, 2, 4]).transposed(1, 2)
        let scores = heads.matmul(heads.transposed(-1, -2)) * 0.5
        let additive = (1 - mask.cast(to: .float32)).unsqueezed(at: 1).unsqueezed(at: 1) * -10_000
        let probabilities = (scores + additive).softmax(dim: -1)
        let merged = probabilities.matmul(heads).transposed(1, 2).reshaped([b, s, 8])
        let positions = Tensor.arange(s).cast(to: .float32).unsqueezed(at: -1)
        let y = (merged.matmul(projection) + x).layerNorm() + positions * 0.01
        return [("last_hidden_state", y), ("pooled", y.selected(dim: 1, index: 0).tanh())]
    }

    /// Example inputs at batch 2, seq 6 (with padding in the second row).
    static func example(batch: Int = 2, seq: Int = 6, seed: UInt64 = 3) -> [(name: String, tensor: Tensor)] {
        let ids = Tensor.randint(0, 11, shape: [batch, seq], seed: seed)
        var maskValues = [Int](repeating: 1, count: batch * seq)
        if batch > 1 && seq > 2 { maskValues[2 * seq - 1] = 0; maskValues[2 * seq - 2] = 0 }
        return [("input_ids", ids), ("attention_mask", Tensor(maskValues, shape: [batch, seq]))]
    }

    static let dynamicDims = [
        DynamicDimSpec(input: "input_ids", dim: 0, symbol: "batch", max: 8),
        DynamicDimSpec(input: "input_ids", dim: 1, symbol: "seq", max: 64),
        DynamicDimSpec(input: "attention_mask", dim: 0, symbol: "batch", max: 8),
        DynamicDimSpec(input: "attention_mask", dim: 1, symbol: "seq", max: 64),
    ]
}

typealias DynamicDimSpec = (input: String, dim: Int, symbol: String, max: Int)
