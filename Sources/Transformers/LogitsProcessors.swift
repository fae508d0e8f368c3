/// The logits processors of `generate` that `GenerationConfig` turns on, applied to one row's scores
/// in Hugging Face's order (`_get_logits_processor`): repetition penalty, no-repeat n-gram, bad words,
/// min new tokens, forced BOS, forced EOS. Greedy and sampling apply them to the logits, beam search to
/// the log-probabilities, as Hugging Face does.
struct LogitsProcessors {
    let repetitionPenalty: Float
    let noRepeatNgramSize: Int
    let badWords: [[Int]]
    let minNewTokens: Int
    let eosTokenIds: [Int]
    let forcedBos: Int?
    let forcedEos: [Int]?
    /// Tokens of a row before generation (the padded prompt width, or 1: the decoder start token).
    let promptLength: Int
    /// `promptLength + maxNewTokens`: Hugging Face's `max_length`.
    let maxLength: Int

    /// Checks the token ids the options name against the vocabulary.
    init(_ config: GenerationConfig, eosTokenIds: Set<Int>, promptLength: Int, vocabularySize: Int) throws(TransformersError) {
        func check(_ id: Int, _ name: String) throws(TransformersError) {
            guard id >= 0 && id < vocabularySize else {
                throw .invalidInput(argument: name, reason: "holds \(id), outside 0..<\(vocabularySize) (vocab_size)")
            }
        }
        for (i, words) in (config.badWordsIds ?? []).enumerated() { for id in words { try check(id, "bad_words_ids[\(i)]") } }
        if let id = config.forcedBosTokenId { try check(id, "forced_bos_token_id") }
        for id in config.forcedEosTokenIds ?? [] { try check(id, "forced_eos_token_id") }
        repetitionPenalty = config.repetitionPenalty
        noRepeatNgramSize = config.noRepeatNgramSize
        let eos = eosTokenIds.sorted()
        badWords = (config.badWordsIds ?? []).filter { words in !eos.contains { words == [$0] } }
        minNewTokens = config.minNewTokens
        self.eosTokenIds = eos
        forcedBos = config.forcedBosTokenId
        forcedEos = config.forcedEosTokenIds
        self.promptLength = promptLength
        maxLength = promptLength + config.maxNewTokens
    }

    /// Whether any processor is on (greedy decoding without any can skip the host copy of the logits).
    var isActive: Bool {
        repetitionPenalty != 1 || noRepeatNgramSize > 0 || !badWords.isEmpty || minNewTokens > 0 || forcedBos != nil || forcedEos != nil
    }

    /// Processes `scores` (one row, `[vocab]`) given the row's tokens so far; `ignoredPrefix` leading
    /// tokens (left padding) do not count for the repetition penalty.
    func apply(_ scores: inout [Float], tokens: [Int], ignoredPrefix: Int) {
        let length = tokens.count
        if repetitionPenalty != 1 {
            for token in Set(tokens.dropFirst(min(ignoredPrefix, length))) where token >= 0 && token < scores.count {
                let s = scores[token]
                scores[token] = s < 0 ? s * repetitionPenalty : s / repetitionPenalty
            }
        }
        let n = noRepeatNgramSize
        if n > 0 && length >= n {
            // Every earlier window whose first n−1 tokens equal the row's last n−1 bans its last token.
            let suffix = tokens[(length - n + 1)...]
            for start in 0...(length - n) where tokens[start..<(start + n - 1)].elementsEqual(suffix) {
                let banned = tokens[start + n - 1]
                if banned >= 0 && banned < scores.count { scores[banned] = -.infinity }
            }
        }
        for words in badWords where words.count <= length + 1 {
            if words.count == 1 || tokens[(length - words.count + 1)...].elementsEqual(words.dropLast()) {
                scores[words[words.count - 1]] = -.infinity
            }
        }
        if length - promptLength < minNewTokens {
            for id in eosTokenIds where id < scores.count { scores[id] = -.infinity }
        }
        if let bos = forcedBos, length == 1 { force(&scores, [bos]) }
        if let eos = forcedEos, length == maxLength - 1 { force(&scores, eos) }
    }

    private func force(_ scores: inout [Float], _ ids: [Int]) {
        for i in scores.indices { scores[i] = -.infinity }
        for id in ids { scores[id] = 0 }
    }
}
