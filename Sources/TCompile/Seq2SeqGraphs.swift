import Foundation
import Graph
import Tensors
import Transformers

/// An encoder-decoder's two generation graphs, traced from its unchanged eager code
/// (`Seq2SeqLanguageModel`): the encoder, which also computes every decoder layer's cross-attention
/// keys and values once, and the single-token decoder step. `CompiledSeq2SeqGenerator` (JIT) and the
/// AOT library (`Seq2SeqLibrary`) both trace through this one place, so both run the same graphs.
///
/// - `encode`: `input_ids`, `attention_mask` `[batch, source]` → `encoder_last_hidden_state`
///   `[batch, source, d_model]` and `cross.L.key` / `cross.L.value` `[batch, heads, source, head_dim]`
///   per decoder layer. The cross keys and values come from running the model's own decoder once on a
///   placeholder token with an empty cache: its cross-attention fills the cache, the rest of that
///   decoder pass is dead code that the pass pipeline removes (and the interpreter never runs).
/// - `decode_step`: `decoder_input_ids` `[batch, 1]`, `encoder_attention_mask` `[batch, source]`,
///   `past.L.key` / `past.L.value` `[batch, heads, past, head_dim]` (the self-attention cache; `past`
///   may be 0 on the first step) and `cross.L.key` / `cross.L.value` → `logits` `[batch, 1, vocab]`
///   and `present.L.key` / `present.L.value` with `past + 1` positions.
///
/// `batch` counts decoder rows (sources × beams) and is at most `maxBatch` (a bound of 1 makes it the
/// static 1); `source` is at most `maxSource`; `past` at most `maxTarget − 1`.
public struct Seq2SeqGraphs {
    /// The encoder graph (before optimization).
    public let encode: Graph
    /// The decoder-step graph (before optimization).
    public let decode: Graph
    /// Bounds the graphs were traced with.
    public let maxBatch: Int, maxSource: Int, maxTarget: Int

    /// Traces `model` (put in eval mode) for at most `maxBatch` decoder rows, sources of at most
    /// `maxSource` tokens and targets (decoder start token included) of at most `maxTarget`.
    public init(model: some Seq2SeqLanguageModel, maxBatch: Int, maxSource: Int, maxTarget: Int) throws {
        guard maxBatch >= 1 else { throw ExportError("seq2seq graphs: maxBatch must be at least 1, got \(maxBatch)") }
        guard maxSource >= 2, maxSource <= model.maxPositions else {
            throw ExportError("seq2seq graphs: the source length bound must be in 2...\(model.maxPositions) (\(model.positionsName)), got \(maxSource)")
        }
        guard maxTarget >= 3, maxTarget <= model.maxPositions else {
            throw ExportError("seq2seq graphs: the target length bound must be in 3...\(model.maxPositions) (\(model.positionsName)), got \(maxTarget)")
        }
        model.eval()
        self.maxBatch = maxBatch
        self.maxSource = maxSource
        self.maxTarget = maxTarget
        let layers = model.decoderLayerCount
        let constants = Dictionary(model.namedParameters() + model.namedBuffers(), uniquingKeysWith: { a, _ in a })
        func batchDim(_ input: String) -> [DynamicDim] {
            maxBatch > 1 ? [DynamicDim(input: input, dim: 0, symbol: "batch", max: maxBatch)] : []
        }
        let exampleBatch = min(2, maxBatch), exampleSource = min(5, maxSource)

        // Encoder + cross keys and values.
        let encodeBody: ([String: Tensor]) -> [(name: String, tensor: Tensor)] = { x in
            withNoGrad {
                let ids = x["input_ids"]!, mask = x["attention_mask"]!
                let encoded = model.encode(inputIds: ids, attentionMask: mask)
                let cache = EncoderDecoderCache(layers: layers, selfAttention: false)
                let placeholder = Tensor.zeros([ids.size(0), 1], dtype: .int64)
                _ = model.forward(Seq2SeqInputs(inputIds: ids, attentionMask: mask, decoderInputIds: placeholder),
                                  labels: nil, cache: cache, encoderStates: encoded)
                return [("encoder_last_hidden_state", encoded)] + (0..<layers).flatMap { l in
                    [("cross.\(l).key", cache.crossKeys[l]!), ("cross.\(l).value", cache.crossValues[l]!)]
                }
            }
        }
        let encodeExample: [(name: String, tensor: Tensor)] = [
            ("input_ids", Tensor.ones([exampleBatch, exampleSource], dtype: .int64)),
            ("attention_mask", Tensor.ones([exampleBatch, exampleSource], dtype: .int64)),
        ]
        let encodeDims = ["input_ids", "attention_mask"].flatMap { name in
            batchDim(name) + [DynamicDim(input: name, dim: 1, symbol: "source", max: maxSource)]
        }
        encode = try Tracer.trace(inputs: encodeExample, dynamicDims: encodeDims, constants: constants, encodeBody)

        // Decoder step: one token per row against `past` cached positions and the cross keys and values.
        let decodeBody: ([String: Tensor]) -> [(name: String, tensor: Tensor)] = { x in
            withNoGrad {
                let ids = x["decoder_input_ids"]!, mask = x["encoder_attention_mask"]!
                let selfCache = DynamicKVCache(keys: (0..<layers).map { x["past.\($0).key"]! }, values: (0..<layers).map { x["past.\($0).value"]! })
                let cache = EncoderDecoderCache(selfAttention: selfCache, crossKeys: (0..<layers).map { x["cross.\($0).key"]! },
                                                crossValues: (0..<layers).map { x["cross.\($0).value"]! })
                // The decoder reads only the encoder states' shape when the cache holds the cross keys and values.
                let states = Tensor.zeros([mask.size(0), mask.size(1), 1])
                let logits = model.forward(Seq2SeqInputs(inputIds: mask, attentionMask: mask, decoderInputIds: ids),
                                           labels: nil, cache: cache, encoderStates: states).logits
                return [("logits", logits)] + (0..<layers).flatMap { l in
                    [("present.\(l).key", selfCache.keys[l]!), ("present.\(l).value", selfCache.values[l]!)]
                }
            }
        }
        // The caches' per-layer shapes come from an eager encoder pass and one eager decoder step.
        let encoded = encodeBody(Dictionary(uniqueKeysWithValues: encodeExample.map { ($0.name, $0.tensor) }))
        let pastExample = 3
        let firstStep: [Tensor] = withNoGrad {
            let cache = EncoderDecoderCache(layers: layers)
            _ = model.forward(Seq2SeqInputs(inputIds: encodeExample[0].tensor, attentionMask: encodeExample[1].tensor,
                                            decoderInputIds: Tensor.ones([exampleBatch, pastExample], dtype: .int64)),
                              labels: nil, cache: cache, encoderStates: encoded[0].tensor)
            return (0..<layers).flatMap { [cache.selfAttention!.keys[$0]!, cache.selfAttention!.values[$0]!] }
        }
        var decodeExample: [(name: String, tensor: Tensor)] = [
            ("decoder_input_ids", Tensor.ones([exampleBatch, 1], dtype: .int64)),
            ("encoder_attention_mask", Tensor.ones([exampleBatch, exampleSource], dtype: .int64)),
        ]
        var decodeDims = batchDim("decoder_input_ids") + batchDim("encoder_attention_mask")
            + [DynamicDim(input: "encoder_attention_mask", dim: 1, symbol: "source", max: maxSource)]
        for l in 0..<layers {
            for (i, part) in ["key", "value"].enumerated() {
                let name = "past.\(l).\(part)"
                decodeExample.append((name, firstStep[2 * l + i]))
                decodeDims += batchDim(name) + [DynamicDim(input: name, dim: 2, symbol: "past", max: maxTarget - 1, min: 0)]
            }
        }
        for (name, tensor) in encoded.dropFirst() {
            decodeExample.append((name, tensor))
            decodeDims += batchDim(name) + [DynamicDim(input: name, dim: 2, symbol: "source", max: maxSource)]
        }
        decode = try Tracer.trace(inputs: decodeExample, dynamicDims: decodeDims, constants: constants, decodeBody)
    }
}
