// The WordPiece model as Hugging Face `tokenizers` implements it (models/wordpiece/mod.rs).

/// Greedy longest-match-first WordPiece: a word is cut into the longest vocabulary entry that starts it,
/// then the longest continuation (`##…`) entry, and so on; a word that cannot be cut, or that has more than
/// `maxInputCharsPerWord` characters, becomes the unknown token.
final class WordPiece: Sendable {
    /// Every vocabulary entry, as written.
    let vocabulary: FrozenByteTable
    /// The entries that start with the continuation prefix, keyed without it.
    let continuations: FrozenByteTable
    let unknownId: Int
    let continuationPrefix: String
    let maxInputCharsPerWord: Int
    /// The longest entry in bytes (no lookup needs to be longer).
    let longestEntry: Int

    init(vocabulary tokens: [String: Int], unknownToken: String, continuationPrefix: String,
         maxInputCharsPerWord: Int, file: String) throws(TokenizerError) {
        guard let unknownId = tokens[unknownToken] else {
            throw .unknownToken(file: file, field: "unk_token", token: unknownToken)
        }
        var vocabulary = ByteTable(capacity: tokens.count)
        var continuations = ByteTable(capacity: tokens.count / 4)
        let prefix = Array(continuationPrefix.utf8)
        var longest = 1
        for (token, id) in tokens {
            let bytes = Array(token.utf8)
            vocabulary.insert(bytes, value: Int32(id))
            longest = max(longest, bytes.count)
            if !prefix.isEmpty, bytes.count >= prefix.count, Array(bytes[..<prefix.count]) == prefix {
                continuations.insert(bytes[prefix.count...], value: Int32(id))
            }
        }
        self.vocabulary = FrozenByteTable(vocabulary)
        self.continuations = prefix.isEmpty ? self.vocabulary : FrozenByteTable(continuations)
        self.unknownId = unknownId
        self.continuationPrefix = continuationPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.longestEntry = longest
    }

    /// Appends the tokens of the normalized word `lo..<hi` to `tokens`.
    func tokenize(_ text: NormalizedView, _ lo: Int, _ hi: Int, into tokens: inout TokenList) {
        let p = text.bytes
        var characters = 0
        for i in lo..<hi where p[i] & 0xC0 != 0x80 { characters += 1 }
        if characters > maxInputCharsPerWord {
            let (s, e) = text.originalSpan(lo, hi)
            tokens.append(id: unknownId, start: s, end: e)
            return
        }
        let mark = tokens.count
        var start = lo
        while start < hi {
            var end = min(hi, start + longestEntry)
            while end < hi, p[end] & 0xC0 == 0x80 { end -= 1 }  // never cut a character
            var found: Int32? = nil
            while end > start {
                if let id = start == lo ? vocabulary.value(p, start, end) : continuations.value(p, start, end) {
                    found = id
                    break
                }
                end -= 1
                while end > start, p[end] & 0xC0 == 0x80 { end -= 1 }
            }
            guard let id = found else {
                tokens.removeLast(tokens.count - mark)
                let (s, e) = text.originalSpan(lo, hi)
                tokens.append(id: unknownId, start: s, end: e)
                return
            }
            let (s, e) = text.originalSpan(start, end)
            tokens.append(id: Int(id), start: s, end: e)
            start = end
        }
    }
}
