import TCompile

/// A second small traced graph for the graph-mutation target, built from the ops whose attributes
/// index into other tensors (`slice` of a position table by `seq`, `reshape` to `batch × 4·seq`,
/// `arange`, `gather`, `concat`, `max` and `argmax` over `seq`, a cast and a mask): the ops whose bounds
/// the verifier must prove, so that mutated attributes and dims land where they matter.
public func shapeSeedGraph() throws -> Graph {
    let table = Tensor.randn([10, 4], seed: 31)
    let positions = Tensor.randn([16, 4], std: 0.5, seed: 32)
    let ids = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
    let mask = Tensor([1, 1, 0, 1, 1, 1], shape: [2, 3])
    return try Tracer.trace(inputs: [("input_ids", ids), ("attention_mask", mask)],
                            dynamicDims: [DynamicDim(input: "input_ids", dim: 0, symbol: "batch", max: 4),
                                          DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 16),
                                          DynamicDim(input: "attention_mask", dim: 0, symbol: "batch", max: 4),
                                          DynamicDim(input: "attention_mask", dim: 1, symbol: "seq", max: 16)],
                            constants: ["table": table, "positions": positions]) { inputs in
        let ids = inputs["input_ids"]!
        let (batch, seq) = (ids.shape[0], ids.shape[1])
        let h = table.indexSelect(dim: 0, index: ids) + positions.sliced(dim: 0, start: 0, end: seq)
        let masked = h * inputs["attention_mask"]!.cast(to: .float32).unsqueezed(at: 2)
        let first = masked.sliced(dim: 1, start: 0, end: 1).reshaped([batch, 4])
        let best = masked.argmax(dim: 1)
        let pooled = Tensor.concat([first, masked.max(dim: 1)], dim: 1)
        let flat = masked.reshaped([batch, seq * 4]).logSoftmax(dim: -1)
        let steps = Tensor.arange(0, seq).cast(to: .float32).sum(dim: 0)
        return [("pooled", pooled), ("best", best), ("picked", flat.gather(dim: 1, index: best)), ("steps", steps)]
    }
}
