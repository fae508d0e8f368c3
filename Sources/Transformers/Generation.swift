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

    func validate() throws(TransformersError) {
        guard maxNewTokens >= 0 else { throw .invalidInput(argument: "max_new_tokens", reason: "must not be negative, got \(maxNewTokens)") }
        guard temperature > 0 else { throw .invalidInput(argument: "temperature", reason: "must be positive, got \(temperature)") }
        guard topK >= 0 else { throw .invalidInput(argument: "top_k", reason: "must not be negative, got \(topK)") }
        guard topP > 0 && topP <= 1 else { throw .invalidInput(argument: "top_p", reason: "must be in (0, 1], got \(topP)") }
    }
}

extension GPT2LMHeadModel {
    /// Continues each prompt (token ids) and returns the new tokens of each: up to `maxNewTokens`,
    /// ending after the first EOS. Prompts of different lengths are left-padded and masked, so a
    /// batch gives the same tokens as one prompt at a time (`model.generate`).
    ///
    /// ```swift
    /// let tokens = try gpt2.generate([[464, 3290]], config: .greedy(maxNewTokens: 16))
    /// ```
    public func generate(_ prompts: [[Int]], config generation: GenerationConfig = GenerationConfig()) throws(TransformersError) -> [[Int]] {
        try generation.validate()
        guard !prompts.isEmpty else { return [] }
        let eos = Set(generation.eosTokenIds ?? config.common.eosTokenIds ?? [])
        let pad = generation.padTokenId ?? config.common.padTokenId ?? generation.eosTokenIds?.first ?? config.common.eosTokenIds?.first ?? 0
        for (i, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else { throw .invalidInput(argument: "prompts[\(i)]", reason: "is empty") }
            if let bad = prompt.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw .invalidInput(argument: "prompts[\(i)]", reason: "holds \(bad), outside 0..<\(config.vocabSize) (vocab_size)")
            }
        }
        guard pad >= 0 && pad < config.vocabSize else { throw .invalidInput(argument: "pad_token_id", reason: "\(pad) is outside the vocabulary") }
        let width = prompts.map(\.count).max()!
        guard width + generation.maxNewTokens <= config.nPositions else {
            throw .invalidInput(argument: "max_new_tokens", reason: "prompt of \(width) + \(generation.maxNewTokens) new tokens exceeds n_positions \(config.nPositions)")
        }
        return withNoGrad { decode(prompts, width: width, eos: eos, pad: pad, generation: generation) }
    }

    private func decode(_ prompts: [[Int]], width: Int, eos: Set<Int>, pad: Int, generation: GenerationConfig) -> [[Int]] {
        let batch = prompts.count
        let padding = prompts.map { width - $0.count }
        var tokens = prompts.enumerated().map { i, p in Array(repeating: pad, count: padding[i]) + p }   // full rows
        var mask = padding.map { Array(repeating: 0, count: $0) + Array(repeating: 1, count: width - $0) }
        var generated = Array(repeating: [Int](), count: batch)
        var finished = Array(repeating: false, count: batch)
        var rng = RandomGenerator(seed: generation.seed)
        let cache: DynamicKVCache? = generation.useCache ? DynamicKVCache(layers: config.nLayer) : nil
        let anyPadding = padding.contains { $0 > 0 }

        for step in 0..<generation.maxNewTokens {
            // Positions count real tokens only (cumsum of the mask − 1; padding at 0), as Hugging Face does.
            let length = tokens[0].count
            let start = (cache == nil || step == 0) ? 0 : length - 1
            let ids = tokens.flatMap { $0[start...] }
            let positions = padding.flatMap { p in (start..<length).map { Swift.max($0 - p, 0) } }
            let inputs = DecoderInputs(
                inputIds: Tensor(ids, shape: [batch, length - start]),
                attentionMask: anyPadding ? Tensor(mask.flatMap { $0 }, shape: [batch, length]) : nil,
                positionIds: Tensor(positions, shape: [batch, length - start]))
            let logits = forward(inputs, cache: cache, logitsToKeep: 1).logits.reshaped([batch, -1])
            let next = generation.doSample ? sample(logits, generation, &rng) : logits.argmax(dim: -1).toIntArray()
            for i in 0..<batch {
                let token = finished[i] ? pad : next[i]
                tokens[i].append(token)
                mask[i].append(1)
                if !finished[i] {
                    generated[i].append(token)
                    if eos.contains(token) { finished[i] = true }
                }
            }
            if finished.allSatisfy({ $0 }) { break }
        }
        return generated
    }

    /// One token per row drawn from softmax(logits / temperature) after top-k and top-p filtering
    /// (Hugging Face's warper order).
    private func sample(_ logits: Tensor, _ g: GenerationConfig, _ rng: inout RandomGenerator) -> [Int] {
        let vocabulary = logits.size(-1)
        let values = (logits / g.temperature).softmax(dim: -1).toFloatArray()
        return (0..<logits.size(0)).map { row in
            let p = values[(row * vocabulary)..<((row + 1) * vocabulary)]
            var order = Array(0..<vocabulary).sorted { p[p.startIndex + $0] > p[p.startIndex + $1] }
            if g.topK > 0 && g.topK < vocabulary { order = Array(order.prefix(g.topK)) }
            if g.topP < 1 {
                // Keep tokens until the kept mass reaches top_p (at least one).
                var kept = 0, mass: Float = 0
                let total = order.reduce(Float(0)) { $0 + p[p.startIndex + $1] }
                while kept < order.count && (kept == 0 || mass < g.topP * total) { mass += p[p.startIndex + order[kept]]; kept += 1 }
                order = Array(order.prefix(kept))
            }
            let total = order.reduce(Float(0)) { $0 + p[p.startIndex + $1] }
            var draw = rng.nextUnitFloat() * total
            for token in order {
                draw -= p[p.startIndex + token]
                if draw < 0 { return token }
            }
            return order.last!
        }
    }
}
