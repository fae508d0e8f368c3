// The tokens of one text between the model and the post-processor.

/// Token ids with their original UTF-8 byte spans, as the models produce them.
struct TokenList {
    var ids: [Int] = []
    var starts: [Int] = []
    var ends: [Int] = []
    /// For added-token matches, the whitespace characters their matched text starts and ends with
    /// (leading << 8 | trailing), which ByteLevel offset trimming uses instead of the vocabulary spelling;
    /// `TokenList.fromVocabulary` for model tokens.
    var trims: [UInt16] = []

    static let fromVocabulary: UInt16 = .max

    /// The text of added-token matches that took whitespace (lstrip / rstrip), by token index: HF reports
    /// that text, not the token's content, as the token (` <mask>`). Rare, hence not a parallel array.
    var matchedTexts: [(index: Int, text: String)] = []

    var count: Int { ids.count }

    @inline(__always)
    mutating func append(id: Int, start: Int, end: Int, trim: UInt16 = TokenList.fromVocabulary) {
        ids.append(id)
        starts.append(start)
        ends.append(end)
        trims.append(trim)
    }

    mutating func removeAll() {
        matchedTexts.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        trims.removeAll(keepingCapacity: true)
    }

    mutating func removeLast(_ k: Int) {
        guard k > 0 else { return }
        let kept = count - k
        if !matchedTexts.isEmpty { matchedTexts.removeAll { $0.index >= kept } }
        ids.removeLast(k)
        starts.removeLast(k)
        ends.removeLast(k)
        trims.removeLast(k)
    }
}

extension TokenList {
    /// Keeps `n` tokens: the first ones (`.right`) or the last ones (`.left`).
    mutating func truncate(to n: Int, direction: Truncation.Direction) {
        guard n < count else { return }
        if direction == .right {
            removeLast(count - n)
        } else {
            let k = count - n
            matchedTexts = matchedTexts.compactMap { $0.index >= k ? ($0.index - k, $0.text) : nil }
            ids.removeFirst(k)
            starts.removeFirst(k)
            ends.removeFirst(k)
            trims.removeFirst(k)
        }
    }
}
