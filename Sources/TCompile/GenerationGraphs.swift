import Foundation
import Graph
import Tensors
import Transformers

/// A causal language model's two generation graphs, traced from its unchanged eager code: the prefill
/// (whole prompts in, the last position's logits and the filled KV cache out) and the single-token
/// decode step (the cache of `past` positions in, logits and the cache grown by one out). The JIT
/// (`CompiledGenerator`) and the AOT library with its generation state API (`TCompile.writeGenerator`)
/// trace through this one place, so both run the same graphs.
///
/// The prefill graph takes `input_ids`, `attention_mask` and `position_ids` `[batch, seq]` and returns
/// `logits` `[batch, 1, vocab]` and `present.L.key` / `present.L.value` `[batch, seq, heads, head_dim]`
/// per layer. The decode graph takes `input_ids` and `position_ids` `[batch, 1]`,
/// `past_attention_mask` `[batch, past]` and `past.L.key` / `past.L.value` `[batch, past, heads,
/// head_dim]`, and returns `logits` and `present.L.*` `[batch, past + 1, heads, head_dim]`. A batch
/// bound of 1 makes the batch the static 1.
///
/// The cache crosses the graphs' boundary position-major (the model's own cache is `[batch, heads,
/// positions, head_dim]`; the graphs permute at their edges, which the optimizer folds into the
/// concatenation): at batch 1 the past is then a prefix of the present in memory, so a caller that
/// passes one buffer as both (the generation state of an AOT library) has the decode step append one
/// position in place instead of copying the whole cache (`GraphLowering`'s in-place append).
public struct GenerationGraphs {
    /// The prefill graph (before optimization).
    public let prefill: Graph
    /// The decode-step graph (before optimization).
    public let decode: Graph

    /// Traces `model` (put in eval mode) for at most `maxBatch` rows of at most `maxLength` tokens.
    public init(model: some CausalLanguageModel, maxBatch: Int, maxLength: Int) throws {
        guard maxBatch >= 1 else { throw ExportError("generation graphs: maxBatch must be at least 1, got \(maxBatch)") }
        guard maxLength >= 4, maxLength <= model.maxPositions else {
            throw ExportError("generation graphs: the length bound must be in 4...\(model.maxPositions) (the model's positions), got \(maxLength)")
        }
        model.eval()
        let layers = model.layerCount
        let constants = Dictionary(model.namedParameters() + model.namedBuffers(), uniquingKeysWith: { a, _ in a })
        /// The cache position-major (`[batch, positions, heads, head_dim]`) at the graphs' edges.
        func positionMajor(_ t: Tensor) -> Tensor { t.permuted([0, 2, 1, 3]) }
        func presents(_ cache: DynamicKVCache) -> [(name: String, tensor: Tensor)] {
            (0..<layers).flatMap { l in [("present.\(l).key", positionMajor(cache.keys[l]!)), ("present.\(l).value", positionMajor(cache.values[l]!))] }
        }
        // A batch bound of 1 keeps the batch a static dim of 1, as `tcompile export --max-batch 1` does.
        func batchDim(_ input: String) -> [DynamicDim] {
            maxBatch > 1 ? [DynamicDim(input: input, dim: 0, symbol: "batch", max: maxBatch)] : []
        }
        let exampleBatch = min(2, maxBatch)

        // Prefill: whole rows in, last-position logits and the filled cache out.
        let prefillBody: ([String: Tensor]) -> [(name: String, tensor: Tensor)] = { x in
            withNoGrad {
                let cache = DynamicKVCache(layers: layers)
                let logits = model.forward(DecoderInputs(inputIds: x["input_ids"]!, attentionMask: x["attention_mask"]!,
                                                         positionIds: x["position_ids"]!),
                                           cache: cache, labels: nil, logitsToKeep: 1).logits
                return [("logits", logits)] + presents(cache)
            }
        }
        let seq = min(5, maxLength - 1)
        let prefillExample: [(name: String, tensor: Tensor)] = [
            ("input_ids", Tensor.ones([exampleBatch, seq], dtype: .int64)),
            ("attention_mask", Tensor.ones([exampleBatch, seq], dtype: .int64)),
            ("position_ids", Tensor(Array((0..<exampleBatch).map { _ in Array(0..<seq) }.joined()), shape: [exampleBatch, seq])),
        ]
        let prefillDims = ["input_ids", "attention_mask", "position_ids"].flatMap { name in
            batchDim(name) + [DynamicDim(input: name, dim: 1, symbol: "seq", max: maxLength)]
        }
        prefill = try Tracer.trace(inputs: prefillExample, dynamicDims: prefillDims, constants: constants, prefillBody)

        // Decode step: one token per row against `past` cached positions given as inputs.
        let decodeBody: ([String: Tensor]) -> [(name: String, tensor: Tensor)] = { x in
            withNoGrad {
                let cache = DynamicKVCache(keys: (0..<layers).map { positionMajor(x["past.\($0).key"]!) },
                                           values: (0..<layers).map { positionMajor(x["past.\($0).value"]!) })
                let ids = x["input_ids"]!
                let mask = Tensor.concat([x["past_attention_mask"]!, Tensor.ones([ids.size(0), 1], dtype: .int64)], dim: 1)
                let logits = model.forward(DecoderInputs(inputIds: ids, attentionMask: mask, positionIds: x["position_ids"]!),
                                           cache: cache, labels: nil, logitsToKeep: 1).logits
                return [("logits", logits)] + presents(cache)
            }
        }
        // The cache's per-layer shape [batch, past, heads, head_dim] comes from an eager prefill.
        let filled = prefillBody(Dictionary(uniqueKeysWithValues: prefillExample.map { ($0.name, $0.tensor) }))
        var decodeExample: [(name: String, tensor: Tensor)] = [
            ("input_ids", Tensor.ones([exampleBatch, 1], dtype: .int64)),
            ("past_attention_mask", Tensor.ones([exampleBatch, seq], dtype: .int64)),
            ("position_ids", Tensor(Array(repeating: seq, count: exampleBatch), shape: [exampleBatch, 1])),
        ]
        var decodeDims = batchDim("input_ids") + batchDim("position_ids") + batchDim("past_attention_mask")
            + [DynamicDim(input: "past_attention_mask", dim: 1, symbol: "past", max: maxLength - 1)]
        for (name, tensor) in filled where name.hasPrefix("present.") {
            let input = "past." + name.dropFirst("present.".count)
            decodeExample.append((input, tensor.contiguous()))
            decodeDims += batchDim(input) + [DynamicDim(input: input, dim: 1, symbol: "past", max: maxLength - 1)]
        }
        decode = try Tracer.trace(inputs: decodeExample, dynamicDims: decodeDims, constants: constants, decodeBody)

    }
}
