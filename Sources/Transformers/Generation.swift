import Tensors

/// How `generate` picks tokens (`transformers.GenerationConfig`): greedy by default; with
/// `doSample`, temperature, top-k and top-p (nucleus) filtering and a seed.
public struct GenerationConfig: Sendable, Equatable {
    /// Tokens to add after the prompt, at most.
    public var maxNewTokens: Int = 20
    /// Sample from the filtered distribution instead of taking the most likely token.
    public var doSample: Bool = false
    /// Logits are divided by this before sampling (> 0).
    public var temperature: Float = 1
    /// Keep only the `topK` most likely tokens when sampling (0 = no limit); Hugging Face's default is 50.
    public var topK: Int = 50
    /// Keep the smallest set of most likely tokens whose probability reaches `topP` (1 = no limit).
    public var topP: Float = 1
    /// Seed of the sampling generator: the same seed gives the same text.
    public var seed: UInt64 = 0
    /// A sequence ends when it produces one of these (nil: the model config's `eos_token_id`).
    public var eosTokenIds: [Int]?
    /// Fills the left of shorter prompts and the tail of finished sequences (nil: the config's
    /// `pad_token_id`, else the first EOS id, else 0).
    public var padTokenId: Int?
    /// Decode one token at a time against a KV cache; false recomputes the whole sequence each step.
    public var useCache: Bool = true
    /// Beams of beam search (`num_beams`); 1 is greedy decoding or sampling.
    public var numBeams: Int = 1
    /// Beam search ranks finished hypotheses by their summed log-probability divided by
    /// `length^lengthPenalty` (`length_penalty`; > 0 favours longer ones).
    public var lengthPenalty: Float = 1
    /// When beam search stops (`early_stopping`).
    public var earlyStopping: EarlyStopping = .heuristic
    /// Hypotheses returned per input (`num_return_sequences`), the best first; beam search only, at most `numBeams`.
    public var numReturnSequences: Int = 1
    /// At least this many new tokens before an EOS may be chosen (`min_new_tokens`; 0 = no minimum).
    public var minNewTokens: Int = 0
    /// No n-gram of this size occurs twice in a row's tokens (`no_repeat_ngram_size`; 0 = off).
    public var noRepeatNgramSize: Int = 0
    /// Scores of tokens already in the row are divided (positive) or multiplied (negative) by this
    /// (`repetition_penalty`; 1 = off; left padding is not counted).
    public var repetitionPenalty: Float = 1
    /// Token sequences that may not be generated (`bad_words_ids`): a one-token entry is never chosen, a
    /// longer one's last token is not chosen after its prefix. Entries that are just an EOS id are dropped.
    public var badWordsIds: [[Int]]? = nil
    /// The first new token, forced when a row holds a single token (`forced_bos_token_id`: the
    /// encoder-decoders' first step after the decoder start token).
    public var forcedBosTokenId: Int? = nil
    /// The token forced as the last of `maxNewTokens` (`forced_eos_token_id`; several ids: all allowed).
    public var forcedEosTokenIds: [Int]? = nil
    /// Total length of a row, prompt (as padded) included (`max_length`); when set it replaces
    /// `maxNewTokens` by `maxLength − prompt width` (for encoder-decoders the prompt is the decoder
    /// start token). Hugging Face lets `max_new_tokens` win when both are given: `setMaxNewTokens`
    /// clears this.
    public var maxLength: Int? = nil
    /// Shortest total length before an EOS may be chosen (`min_length`, prompt included); used when
    /// `minNewTokens` is 0, as `min_new_tokens` wins in Hugging Face.
    public var minLength: Int? = nil
    /// The first decoder token of an encoder-decoder (`decoder_start_token_id`; nil: config.json's).
    public var decoderStartTokenId: Int? = nil

    public init(maxNewTokens: Int = 20, doSample: Bool = false, temperature: Float = 1, topK: Int = 50, topP: Float = 1,
                seed: UInt64 = 0, eosTokenIds: [Int]? = nil, padTokenId: Int? = nil, useCache: Bool = true) {
        self.maxNewTokens = maxNewTokens
        self.doSample = doSample
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.eosTokenIds = eosTokenIds
        self.padTokenId = padTokenId
        self.useCache = useCache
    }

    /// Greedy decoding of `maxNewTokens` tokens.
    public static func greedy(maxNewTokens: Int) -> GenerationConfig { GenerationConfig(maxNewTokens: maxNewTokens) }

    /// Sets `max_new_tokens` and drops a `max_length` (Hugging Face lets the former win).
    public mutating func setMaxNewTokens(_ count: Int) {
        maxNewTokens = count
        maxLength = nil
    }

    /// This config with `maxLength` and `minLength` turned into new-token counts for prompts (as
    /// padded, or the decoder start token) of `width` tokens, as `_prepare_generated_length` does.
    public func resolved(promptWidth width: Int) throws(TransformersError) -> GenerationConfig {
        var out = self
        if let maxLength {
            guard maxLength > width else {
                throw .invalidInput(argument: "max_length", reason: "is \(maxLength), not above the prompt's \(width) tokens: nothing to generate (set max_new_tokens)")
            }
            out.maxNewTokens = maxLength - width
        }
        if let minLength, minNewTokens == 0 { out.minNewTokens = Swift.max(0, minLength - width) }
        out.maxLength = nil
        out.minLength = nil
        return out
    }

    /// Checks every field's range (each error names the Hugging Face keyword).
    public func validate() throws(TransformersError) {
        guard maxNewTokens >= 0 else { throw .invalidInput(argument: "max_new_tokens", reason: "must not be negative, got \(maxNewTokens)") }
        guard temperature > 0 else { throw .invalidInput(argument: "temperature", reason: "must be positive, got \(temperature)") }
        guard topK >= 0 else { throw .invalidInput(argument: "top_k", reason: "must not be negative, got \(topK)") }
        guard topP > 0 && topP <= 1 else { throw .invalidInput(argument: "top_p", reason: "must be in (0, 1], got \(topP)") }
        guard numBeams >= 1 && numBeams <= 1024 else { throw .invalidInput(argument: "num_beams", reason: "must be in 1...1024, got \(numBeams)") }
        guard !(doSample && numBeams > 1) else {
            throw .invalidInput(argument: "num_beams", reason: "is \(numBeams) with do_sample; beam sampling is not supported (use one or the other)")
        }
        guard numReturnSequences >= 1 && numReturnSequences <= numBeams else {
            throw .invalidInput(argument: "num_return_sequences", reason: "must be in 1...num_beams (\(numBeams)), got \(numReturnSequences)")
        }
        guard lengthPenalty.isFinite else { throw .invalidInput(argument: "length_penalty", reason: "must be a finite number, got \(lengthPenalty)") }
        guard minNewTokens >= 0 else { throw .invalidInput(argument: "min_new_tokens", reason: "must not be negative, got \(minNewTokens)") }
        guard noRepeatNgramSize >= 0 else { throw .invalidInput(argument: "no_repeat_ngram_size", reason: "must not be negative, got \(noRepeatNgramSize)") }
        guard repetitionPenalty > 0 && repetitionPenalty.isFinite else {
            throw .invalidInput(argument: "repetition_penalty", reason: "must be a positive number, got \(repetitionPenalty)")
        }
        if let bad = badWordsIds, let i = bad.firstIndex(where: \.isEmpty) {
            throw .invalidInput(argument: "bad_words_ids[\(i)]", reason: "is empty")
        }
        if let ids = forcedEosTokenIds, ids.isEmpty { throw .invalidInput(argument: "forced_eos_token_id", reason: "is an empty list") }
        if let maxLength, maxLength < 1 { throw .invalidInput(argument: "max_length", reason: "must be positive, got \(maxLength)") }
        if let minLength, minLength < 0 { throw .invalidInput(argument: "min_length", reason: "must not be negative, got \(minLength)") }
    }
}

/// When beam search stops (`early_stopping`).
public enum EarlyStopping: Sendable, Equatable {
    /// `False`: stop when no running beam can, by the current length, beat the worst finished one.
    case heuristic
    /// `True`: stop as soon as `num_beams` hypotheses are finished.
    case whenFull
    /// `"never"`: stop only when no running beam could beat the worst finished one at any length
    /// (the canonical beam search).
    case never
}

extension CausalLanguageModel {
    /// Continues each prompt (token ids) and returns the new tokens of each: up to `maxNewTokens`,
    /// ending after the first EOS. Prompts of different lengths are left-padded and masked, so a
    /// batch gives the same tokens as one prompt at a time (`model.generate`). The loop itself is
    /// `DecodingLoop`, shared with the compiled generator.
    ///
    /// ```swift
    /// let tokens = try gpt2.generate([[464, 3290]], config: .greedy(maxNewTokens: 16))
    /// ```
    ///
    /// `onTokens` gets each step's new token of every row as it is picked (greedy and sampling).
    public func generate(_ prompts: [[Int]], config generation: GenerationConfig = GenerationConfig(),
                         onTokens: (([Int]) -> Void)? = nil) throws(TransformersError) -> [[Int]] {
        let loop = try DecodingLoop(prompts: prompts, config: generation, vocabularySize: vocabularySize,
                                    maxPositions: maxPositions, commonConfig: commonConfig)
        return withNoGrad {
            let cache: DynamicKVCache? = generation.useCache ? DynamicKVCache(layers: layerCount) : nil
            return loop.run({ step in
                forward(DecoderInputs(inputIds: step.inputIds, attentionMask: step.hasPadding ? step.attentionMask : nil,
                                      positionIds: step.positionIds),
                        cache: cache, labels: nil, logitsToKeep: 1).logits
            }, reorder: cache.map { cache in { rows in cache.selectBatch(Tensor(rows, shape: [rows.count])) } }, onTokens: onTokens)
        }
    }
}
