import TCompile

/// A small traced graph with dynamic dims (`batch` ≤ 4, `seq` ≤ 32), constants and the common op kinds
/// (an embedding of 10 ids, a projection, attention and a layer norm): the model-json target's seed (the
/// corpus's tiny-graph.json is this graph saved by GraphFile), compiled by the run and weights targets.
public func seedGraph() throws -> Graph {
    let table = Tensor.randn([10, 6], seed: 21)
    let projection = Tensor.randn([6, 6], std: 0.4, seed: 22)
    return try Tracer.trace(inputs: [("input_ids", Tensor([1, 2, 3], shape: [1, 3]))],
                            dynamicDims: [DynamicDim(input: "input_ids", dim: 0, symbol: "batch", max: 4),
                                          DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 32)],
                            constants: ["embedding": table, "projection": projection]) { inputs in
        let x = table.indexSelect(dim: 0, index: inputs["input_ids"]!)
        let h = x.matmul(projection).gelu()
        let scores = h.matmul(h.transposed(-1, -2)).softmax(dim: -1)
        return [("hidden", scores.matmul(h).layerNorm()), ("pooled", h.mean(dim: 1))]
    }
}
