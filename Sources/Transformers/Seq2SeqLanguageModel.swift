import NN
import Tensors

/// An encoder-decoder language model that `generate` can drive (`BartForConditionalGeneration`,
/// `T5ForConditionalGeneration`): an encoder, a forward pass whose decoder appends to an
/// `EncoderDecoderCache`, and the few config values decoding needs.
///
/// The eager `generate` and TCompile's `CompiledSeq2SeqGenerator` (which traces `encode` and
/// `forward` into graphs) both work on any conforming model, through `Seq2SeqGeneration`.
public protocol Seq2SeqLanguageModel: Module {
    /// Size of the vocabulary (`vocab_size`).
    var vocabularySize: Int { get }
    /// Longest source or target the position table allows.
    var maxPositions: Int { get }
    /// The config field that states `maxPositions`, for errors (`max_position_embeddings`).
    var positionsName: String { get }
    /// Decoder layers, one self-attention cache entry and one cross key/value pair each.
    var decoderLayerCount: Int { get }
    /// The shared config fields (`eos_token_id`, `pad_token_id`).
    var commonConfig: CommonConfig { get }
    /// config.json's `decoder_start_token_id`.
    var configDecoderStartTokenId: Int? { get }
    /// The encoder: `[B, S]` ids and padding mask → `[B, S, d_model]`.
    func encode(inputIds: Tensor, attentionMask: Tensor?) -> Tensor
    /// The trusted-input forward pass (`encoderStates` skips the encoder; with `cache`, the decoder ids
    /// are the new positions only).
    func forward(_ inputs: Seq2SeqInputs, labels: Tensor?, cache: EncoderDecoderCache?, encoderStates: Tensor?) -> Seq2SeqOutput
}

/// The model-independent start of encoder-decoder generation, shared by eager and compiled
/// generation: resolves the decoder start token, right-pads and masks the sources, maps each decoder
/// row to its source (beam search runs `numBeams` rows per source) and builds the `DecodingLoop`
/// whose prompts are the start token.
public struct Seq2SeqGeneration {
    /// The loop every row runs through.
    public let loop: DecodingLoop
    /// Right-padded source ids `[sources, S]` and their mask.
    public let sourceIds: Tensor, sourceMask: Tensor
    /// For each decoder row, its source: `[sources · numBeams]` (`i / numBeams`).
    public let rowSources: Tensor
    /// Decoder rows: sources · numBeams.
    public var rows: Int { rowSources.size(0) }

    /// Validates `sources` (non-empty, ids in the vocabulary, at most `maxSource` tokens, named
    /// `sourceLimitName` in errors) and `generation` (new tokens within `maxTarget` − 1).
    public init(sources: [[Int]], generation: GenerationConfig, vocabularySize: Int, maxSource: Int, sourceLimitName: String,
                maxTarget: Int, targetLimitName: String, common: CommonConfig, start: Int?) throws(TransformersError) {
        guard let start = generation.decoderStartTokenId ?? start else {
            throw .invalidInput(argument: "decoder_start_token_id", reason: "is not set in config.json or generation_config.json; generation cannot start the decoder")
        }
        (sourceIds, sourceMask) = try seq2seqSourceBatch(sources, vocabularySize: vocabularySize, maxPositions: maxSource,
                                                         positionsName: sourceLimitName, pad: generation.padTokenId ?? common.padTokenId ?? 0)
        loop = try DecodingLoop(prompts: Array(repeating: [start], count: sources.count), config: generation,
                                vocabularySize: vocabularySize, maxPositions: maxTarget,
                                commonConfig: common, positionsName: targetLimitName)
        let beams = generation.numBeams
        rowSources = Tensor((0..<(sources.count * beams)).map { $0 / beams }, shape: [sources.count * beams])
    }

    /// `(ids, mask)` of the model's own bounds.
    public init(sources: [[Int]], generation: GenerationConfig, model: some Seq2SeqLanguageModel) throws(TransformersError) {
        try self.init(sources: sources, generation: generation, vocabularySize: model.vocabularySize, maxSource: model.maxPositions,
                      sourceLimitName: model.positionsName, maxTarget: model.maxPositions, targetLimitName: model.positionsName,
                      common: model.commonConfig, start: model.configDecoderStartTokenId)
    }
}

extension Seq2SeqLanguageModel {
    /// Generates a target for each source (token ids): the sources are right-padded and masked into
    /// one batch, encoded once, and the decoder runs from `decoder_start_token_id` one token at a
    /// time against its cache (cross-attention keys and values computed on the first step). Returns
    /// each row's new tokens (without the start token), ending after the first EOS, as
    /// `model.generate(...)[:, 1:]` does; with beam search (`numBeams` > 1), `numReturnSequences` rows
    /// per source, best first. Options are `config`'s only; `generation_config.json` is not read.
    ///
    /// ```swift
    /// let tokens = try bart.generate([[0, 31414, 232, 2]], config: .greedy(maxNewTokens: 20))
    /// ```
    public func generate(_ sources: [[Int]], config generation: GenerationConfig = GenerationConfig()) throws(TransformersError) -> [[Int]] {
        let setup = try Seq2SeqGeneration(sources: sources, generation: generation, model: self)
        return withNoGrad {
            var encoded = encode(inputIds: setup.sourceIds, attentionMask: setup.sourceMask)
            var sourceIds = setup.sourceIds, sourceMask = setup.sourceMask
            if generation.numBeams > 1 {
                encoded = encoded.indexSelect(dim: 0, index: setup.rowSources)
                sourceIds = sourceIds.indexSelect(dim: 0, index: setup.rowSources)
                sourceMask = sourceMask.indexSelect(dim: 0, index: setup.rowSources)
            }
            let cache = EncoderDecoderCache(layers: decoderLayerCount, selfAttention: generation.useCache)
            // Beams stay within their source's group, whose cross keys and values are the same: only
            // the self-attention cache is reordered.
            return setup.loop.run({ s in
                let logits = forward(Seq2SeqInputs(inputIds: sourceIds, attentionMask: sourceMask, decoderInputIds: s.inputIds),
                                     labels: nil, cache: cache, encoderStates: encoded).logits
                return logits.sliced(dim: 1, start: logits.size(1) - 1)
            }, reorder: cache.selfAttention.map { selfCache in { parents in selfCache.selectBatch(Tensor(parents, shape: [parents.count])) } })
        }
    }
}
