import Tensors

/// What one step of autoregressive decoding asks the model for: the logits after `inputIds`, given
/// that the model has already seen (and cached) the first `past` positions of every row.
public struct DecodingStep {
    /// 0 for the prompt (prefill), then 1, 2, … for each new token.
    public let index: Int
    /// Positions of each row the model has already processed through its KV cache; 0 when the rows are
    /// given whole (the first step, or every step when `GenerationConfig.useCache` is false).
    public let past: Int
    /// The new positions' token ids, `[batch, length − past]`.
    public let inputIds: Tensor
    /// 1 for real tokens and 0 for left padding, over every position so far: `[batch, length]`.
    public let attentionMask: Tensor
    /// Position ids of the new positions (real tokens counted from 0; padding at 0): `[batch, length − past]`.
    public let positionIds: Tensor
    /// Whether any row is left-padded (when false, `attentionMask` is all ones and may be left out).
    public let hasPadding: Bool

    /// Rows in the batch.
    public var batch: Int { inputIds.size(0) }
}

/// The model-independent part of `generate`: validates prompts and options, left-pads a batch, and
/// runs the greedy or sampling loop (temperature, top-k, top-p, seed, EOS, padding of finished rows)
/// around a `step` function that returns next-token logits. The eager `generate` and TCompile's
/// compiled generator share it, so both pick tokens by the same code.
///
/// ```swift
/// let loop = try DecodingLoop(prompts: [[464, 3290]], config: .greedy(maxNewTokens: 8),
///                             vocabularySize: 50257, maxPositions: 1024, commonConfig: config.common)
/// let tokens = try loop.run { step in try myModel(step) }   // logits [batch, vocab]
/// ```
public struct DecodingLoop {
    /// The prompts, validated.
    public let prompts: [[Int]]
    /// The decoding options, validated.
    public let config: GenerationConfig
    /// Tokens that end a sequence.
    public let eosTokenIds: Set<Int>
    /// The token that fills left padding and the tail of finished rows.
    public let padTokenId: Int
    /// The logits processors the config turns on.
    let processors: LogitsProcessors

    /// Validates `prompts` (non-empty, ids below `vocabularySize`, prompt + `maxNewTokens` within
    /// `maxPositions`) and `config`, and resolves EOS and padding from `config` or else `commonConfig`.
    /// `positionsName` names the limit in errors (`n_positions`).
    public init(prompts: [[Int]], config: GenerationConfig, vocabularySize: Int, maxPositions: Int,
                commonConfig: CommonConfig, positionsName: String = "n_positions") throws(TransformersError) {
        try config.validate()
        let pad = config.padTokenId ?? commonConfig.padTokenId ?? config.eosTokenIds?.first ?? commonConfig.eosTokenIds?.first ?? 0
        for (i, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else { throw .invalidInput(argument: "prompts[\(i)]", reason: "is empty") }
            if let bad = prompt.first(where: { $0 < 0 || $0 >= vocabularySize }) {
                throw .invalidInput(argument: "prompts[\(i)]", reason: "holds \(bad), outside 0..<\(vocabularySize) (vocab_size)")
            }
        }
        guard pad >= 0 && pad < vocabularySize else { throw .invalidInput(argument: "pad_token_id", reason: "\(pad) is outside the vocabulary") }
        let width = prompts.map(\.count).max() ?? 0
        guard config.maxNewTokens <= maxPositions - width else {
            throw .invalidInput(argument: "max_new_tokens", reason: "prompt of \(width) + \(config.maxNewTokens) new tokens exceeds \(positionsName) \(maxPositions)")
        }
        self.prompts = prompts
        self.config = config
        if let bad = (config.eosTokenIds ?? []).first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw .invalidInput(argument: "eos_token_id", reason: "\(bad) is outside the vocabulary")
        }
        let eos = Set(config.eosTokenIds ?? commonConfig.eosTokenIds ?? [])
        self.eosTokenIds = eos
        self.padTokenId = pad
        processors = try LogitsProcessors(config, eosTokenIds: eos, promptLength: width, vocabularySize: vocabularySize)
    }

    /// Runs the loop: `step` gets each step's inputs and returns the logits of each row's last
    /// position, `[batch, vocab]` (or `[batch, 1, vocab]`). Returns each prompt's new tokens, ending
    /// after the first EOS.
    public func run(_ step: (DecodingStep) throws -> Tensor) rethrows -> [[Int]] {
        guard !prompts.isEmpty else { return [] }
        let batch = prompts.count, width = prompts.map(\.count).max()!, pad = padTokenId
        let padding = prompts.map { width - $0.count }
        var tokens = prompts.enumerated().map { i, p in Array(repeating: pad, count: padding[i]) + p }   // full rows
        var mask = padding.map { Array(repeating: 0, count: $0) + Array(repeating: 1, count: width - $0) }
        var generated = Array(repeating: [Int](), count: batch)
        var finished = Array(repeating: false, count: batch)
        var rng = RandomGenerator(seed: config.seed)
        let hasPadding = padding.contains { $0 > 0 }

        for index in 0..<config.maxNewTokens {
            // Positions count real tokens only (cumsum of the mask − 1; padding at 0), as Hugging Face does.
            let length = tokens[0].count
            let past = (!config.useCache || index == 0) ? 0 : length - 1
            let ids = tokens.flatMap { $0[past...] }
            let positions = padding.flatMap { p in (past..<length).map { Swift.max($0 - p, 0) } }
            let logits = try step(DecodingStep(index: index, past: past,
                                               inputIds: Tensor(ids, shape: [batch, length - past]),
                                               attentionMask: Tensor(mask.flatMap { $0 }, shape: [batch, length]),
                                               positionIds: Tensor(positions, shape: [batch, length - past]),
                                               hasPadding: hasPadding)).reshaped([batch, -1])
            let next: [Int]
            if processors.isActive {
                let vocabulary = logits.size(-1)
                var scores = logits.toFloatArray()
                for i in 0..<batch {
                    var row = Array(scores[(i * vocabulary)..<((i + 1) * vocabulary)])
                    processors.apply(&row, tokens: tokens[i], ignoredPrefix: padding[i])
                    scores.replaceSubrange((i * vocabulary)..<((i + 1) * vocabulary), with: row)
                }
                next = config.doSample ? sample(Tensor(scores, shape: [batch, vocabulary]), &rng)
                    : (0..<batch).map { firstArgmax(scores[($0 * vocabulary)..<(($0 + 1) * vocabulary)]) }
            } else {
                next = config.doSample ? sample(logits, &rng) : logits.argmax(dim: -1).toIntArray()
            }
            for i in 0..<batch {
                let token = finished[i] ? pad : next[i]
                tokens[i].append(token)
                mask[i].append(1)
                if !finished[i] {
                    generated[i].append(token)
                    if eosTokenIds.contains(token) { finished[i] = true }
                }
            }
            if finished.allSatisfy({ $0 }) { break }
        }
        return generated
    }

    /// One token per row drawn from softmax(logits / temperature) after top-k and top-p filtering
    /// (Hugging Face's warper order).
    private func sample(_ logits: Tensor, _ rng: inout RandomGenerator) -> [Int] {
        let g = config
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

/// The index of the first largest element (`torch.argmax`), offset to the slice's start.
func firstArgmax(_ values: ArraySlice<Float>) -> Int {
    var best = values.startIndex
    for i in values.indices where values[i] > values[best] { best = i }
    return best - values.startIndex
}
