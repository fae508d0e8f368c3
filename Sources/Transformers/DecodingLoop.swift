import Foundation
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
        let config = try config.resolved(promptWidth: prompts.map(\.count).max() ?? 0)
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
    /// after the first EOS; with beam search, `numReturnSequences` rows per prompt, best first.
    ///
    /// Beam search runs `numBeams` rows per prompt (prompt `i`'s beams are rows `i·numBeams ..<
    /// (i+1)·numBeams`). After each step `reorder` gets, for each row of the next step, the row of
    /// this step it continues, so the caller can reorder its KV cache; without `reorder`, beam search
    /// gives every step the whole sequences (`past` 0).
    ///
    /// `onTokens` (greedy and sampling only: beam search knows its winners at the end) gets each
    /// step's new token of every row as it is picked (the pad id for rows already finished), so a
    /// caller can stream text.
    public func run<E: Error>(_ step: (DecodingStep) throws(E) -> Tensor, reorder: (([Int]) throws(E) -> Void)? = nil,
                              onTokens: (([Int]) -> Void)? = nil) throws(E) -> [[Int]] {
        guard !prompts.isEmpty else { return [] }
        if config.numBeams > 1 { return try beamSearch(step, reorder: reorder) }
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
            onTokens?(tokens.map { $0[$0.count - 1] })
            if finished.allSatisfy({ $0 }) { break }
        }
        return generated
    }

    /// Beam search with Hugging Face's semantics (`_beam_search`): log-softmax scores, processed,
    /// added to each beam's running score; the best `max(2, 1 + #eos) · numBeams` continuations of a
    /// prompt's beams; those ending (EOS, or the last allowed token) among the first `numBeams` become
    /// finished hypotheses scored `sum / length^lengthPenalty`, the others the next running beams;
    /// `earlyStopping` decides when a prompt is done.
    private func beamSearch<E: Error>(_ step: (DecodingStep) throws(E) -> Tensor, reorder: (([Int]) throws(E) -> Void)?) throws(E) -> [[Int]] {
        let k = config.numBeams, batch = prompts.count, width = prompts.map(\.count).max() ?? 0, pad = padTokenId
        let rows = batch * k, maxLength = width + config.maxNewTokens
        guard config.maxNewTokens > 0 else { return Array(repeating: [], count: batch * config.numReturnSequences) }
        let padding = prompts.map { width - $0.count }
        let masked: Float = -1e9, penalty = Double(config.lengthPenalty)
        var running = (0..<rows).map { r in Array(repeating: pad, count: padding[r / k]) + prompts[r / k] }
        var runningScores = (0..<rows).map { $0 % k == 0 ? Float(0) : masked }
        var finished = Array(repeating: Array(repeating: [Int](), count: k), count: batch)
        var finishedScores = Array(repeating: Array(repeating: masked, count: k), count: batch)
        var isFinished = Array(repeating: Array(repeating: false, count: k), count: batch)
        var improvable = Array(repeating: true, count: batch)
        let keep = Swift.max(2, 1 + eosTokenIds.count) * k
        let useCache = config.useCache && reorder != nil
        var length = width

        while true {
            let past = (useCache && length > width) ? length - 1 : 0
            let ids = running.flatMap { $0[past...] }
            let positions = (0..<rows).flatMap { r in (past..<length).map { Swift.max($0 - padding[r / k], 0) } }
            let mask = (0..<rows).flatMap { r in Array(repeating: 0, count: padding[r / k]) + Array(repeating: 1, count: length - padding[r / k]) }
            let logits = try step(DecodingStep(index: length - width, past: past, inputIds: Tensor(ids, shape: [rows, length - past]),
                                               attentionMask: Tensor(mask, shape: [rows, length]),
                                               positionIds: Tensor(positions, shape: [rows, length - past]),
                                               hasPadding: padding.contains { $0 > 0 })).reshaped([rows, -1])
            let vocabulary = logits.size(-1)
            var scores = logits.logSoftmax(dim: -1).toFloatArray()
            for r in 0..<rows {
                var row = Array(scores[(r * vocabulary)..<((r + 1) * vocabulary)])
                processors.apply(&row, tokens: running[r], ignoredPrefix: padding[r / k])
                for t in 0..<vocabulary { scores[r * vocabulary + t] = row[t] + runningScores[r] }
            }
            let generatedLength = Float(Foundation.pow(Double(length + 1 - width), penalty))
            var nextRunning: [[Int]] = [], nextScores: [Float] = [], parents: [Int] = []
            var allHit = true
            for b in 0..<batch {
                // The best `keep` continuations of this prompt's beams (index = beam · vocab + token).
                let base = b * k * vocabulary
                let top = topIndices(scores[base..<(base + k * vocabulary)], count: keep)
                let candidates = top.map { i -> (score: Float, beam: Int, tokens: [Int], hit: Bool) in
                    let beam = i / vocabulary, token = i % vocabulary
                    return (scores[base + i], beam, running[b * k + beam] + [token], eosTokenIds.contains(token) || length + 1 >= maxLength)
                }
                allHit = allHit && candidates.allSatisfy(\.hit)
                // Running beams: the best k that did not end.
                let runningValues = candidates.map { $0.score + ($0.hit ? masked : 0) }
                for c in topIndices(runningValues[...], count: k) {
                    nextRunning.append(candidates[c].tokens)
                    nextScores.append(runningValues[c])
                    parents.append(b * k + candidates[c].beam)
                }
                // Finished hypotheses: the kept ones merged with those that just ended among the first k.
                let full = isFinished[b].allSatisfy { $0 } && config.earlyStopping == .whenFull
                let ended = candidates.enumerated().map { c, candidate -> Float in
                    var s = candidate.score / generatedLength
                    if full { s += masked }
                    if !improvable[b] { s += masked }
                    if !(candidate.hit && c < k) { s += masked }
                    return s
                }
                let mergedScores = finishedScores[b] + ended
                let mergedTokens = finished[b] + candidates.map(\.tokens)
                let mergedFinished = isFinished[b] + candidates.enumerated().map { c, candidate in candidate.hit && c < k }
                let best = topIndices(mergedScores[...], count: k)
                finished[b] = best.map { mergedTokens[$0] }
                finishedScores[b] = best.map { mergedScores[$0] }
                isFinished[b] = best.map { mergedFinished[$0] }
            }
            running = nextRunning
            runningScores = nextScores
            if useCache, let reorder { try reorder(parents) }
            length += 1
            for b in 0..<batch where improvable[b] {
                let bestLength = (config.earlyStopping == .never && penalty > 0) ? maxLength - width : length - width
                let bestPossible = runningScores[b * k] / Float(Foundation.pow(Double(bestLength), penalty))
                let worst = finishedScores[b].min() ?? masked
                improvable[b] = isFinished[b].contains { !$0 } ? bestPossible > masked : bestPossible > worst
            }
            let open = !(isFinished.allSatisfy { $0.allSatisfy { $0 } } && config.earlyStopping == .whenFull)
            if !(improvable.contains(true) && open && !allHit) || length >= maxLength { break }
        }
        return finished.flatMap { hypotheses in
            hypotheses.prefix(config.numReturnSequences).map { $0.count > width ? Array($0[width...]) : [] }
        }
    }

    /// One token per row drawn from softmax(logits / temperature) after top-k and top-p filtering
    /// (Hugging Face's warper order).
    private func sample(_ logits: Tensor, _ rng: inout RandomGenerator) -> [Int] {
        let g = config
        let vocabulary = logits.size(-1)
        let values = Self.unnormalizedProbabilities(logits.toFloatArray(), vocabulary: vocabulary, temperature: g.temperature)
        return (0..<logits.size(0)).map { row in
            let p = values[(row * vocabulary)..<((row + 1) * vocabulary)]
            // Every token masked (or NaN logits): nothing to draw from; the first largest logit.
            if !p.contains(where: { $0 > 0 }) { return firstArgmax(logits.toFloatArray()[(row * vocabulary)..<((row + 1) * vocabulary)]) }
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

extension DecodingLoop {
    /// `exp((logit - rowMax) / temperature)` per row: softmax(logits / temperature) up to each row's
    /// sum, which sampling divides out. Subtracting the maximum first keeps every extreme finite: a
    /// temperature of 1e-30 (logits / T overflowed to ±inf, and softmax gave NaN, so the draw
    /// returned an arbitrary token) leaves the most likely tokens at 1 and the rest at 0; an infinite
    /// one flattens the row; a masked token (-inf, from a logits processor) is 0 at any temperature
    /// (-inf / inf was NaN); a NaN logit is 0.
    static func unnormalizedProbabilities(_ logits: [Float], vocabulary: Int, temperature: Float) -> [Float] {
        var out = [Float](repeating: 0, count: logits.count)
        for row in 0..<(vocabulary == 0 ? 0 : logits.count / vocabulary) {
            let range = (row * vocabulary)..<((row + 1) * vocabulary)
            let top = logits[range].reduce(-Float.infinity) { $1.isNaN ? $0 : Swift.max($0, $1) }
            for i in range where !logits[i].isNaN && logits[i] != -.infinity {
                if top == .infinity { out[i] = logits[i] == .infinity ? 1 : 0; continue }
                let scaled = (logits[i] - top) / temperature
                out[i] = scaled.isNaN ? 1 : Foundation.exp(scaled)
            }
        }
        return out
    }
}

/// The index of the first largest element (`torch.argmax`), offset to the slice's start.
func firstArgmax(_ values: ArraySlice<Float>) -> Int {
    var best = values.startIndex
    for i in values.indices where values[i] > values[best] { best = i }
    return best - values.startIndex
}

/// The indices of the `count` largest values, largest first; ties keep the lower index first
/// (`torch.topk`); NaN ranks below every number. One pass keeping the best `count` in order, so beam
/// search's per-step choice among `beams × vocabulary` scores costs O(n · count), not a full sort.
func topIndices(_ values: ArraySlice<Float>, count: Int) -> [Int] {
    guard count > 0 else { return [] }
    let start = values.startIndex
    // `a` ranks above `b`: larger, or a number against NaN.
    @inline(__always) func above(_ a: Float, _ b: Float) -> Bool { a > b || (b.isNaN && !a.isNaN) }
    var best: [(value: Float, index: Int)] = []
    best.reserveCapacity(count + 1)
    for i in values.indices {
        let v = values[i]
        if best.count == count, !above(v, best[count - 1].value) { continue }
        // After every kept entry that ranks at least as high (equal values keep the lower index first).
        var p = best.count
        while p > 0 && above(v, best[p - 1].value) { p -= 1 }
        best.insert((v, i - start), at: p)
        if best.count > count { best.removeLast() }
    }
    return best.map(\.index)
}
