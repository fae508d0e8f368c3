// Post-processors as Hugging Face `tokenizers` defines them (processors/*.rs): the special tokens around
// one or two sequences, token type ids, and the ByteLevel offset trimming.

/// One item of a template: a special token or one of the two sequences.
struct TemplateItem: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// The ids of a special token (usually one).
        case special(ids: [Int], tokens: [String])
        /// Sequence A (0) or B (1).
        case sequence(Int)
    }
    let kind: Kind
    let typeId: Int
}

/// What is added around the tokens of one or two texts.
enum PostProcessor: Sendable, Equatable {
    /// No special tokens; the second text gets type id 1.
    case none
    /// A template (TemplateProcessing; BertProcessing is expressed as one).
    case template(single: [TemplateItem], pair: [TemplateItem])
    /// `<s> A </s>` and `<s> A </s></s> B </s>`, all type ids 0, optional offset trimming.
    case roberta(cls: (id: Int, token: String), sep: (id: Int, token: String), trimOffsets: Bool, addPrefixSpace: Bool)
    /// No special tokens, optional offset trimming (GPT-2).
    case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)

    static func == (lhs: PostProcessor, rhs: PostProcessor) -> Bool {
        switch (lhs, rhs) {
        case (.none, .none): return true
        case let (.template(a, b), .template(c, d)): return a == c && b == d
        case let (.roberta(a, b, c, d), .roberta(e, f, g, h)):
            return a == e && b == f && c == g && d == h
        case let (.byteLevel(a, b), .byteLevel(c, d)): return a == c && b == d
        default: return false
        }
    }

    /// The BERT template: `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]` with type ids 0 then 1.
    static func bert(cls: (id: Int, token: String), sep: (id: Int, token: String)) -> PostProcessor {
        let c = TemplateItem(kind: .special(ids: [cls.id], tokens: [cls.token]), typeId: 0)
        let s0 = TemplateItem(kind: .special(ids: [sep.id], tokens: [sep.token]), typeId: 0)
        let s1 = TemplateItem(kind: .special(ids: [sep.id], tokens: [sep.token]), typeId: 1)
        return .template(single: [c, TemplateItem(kind: .sequence(0), typeId: 0), s0],
                         pair: [c, TemplateItem(kind: .sequence(0), typeId: 0), s0,
                                TemplateItem(kind: .sequence(1), typeId: 1), s1])
    }

    /// How many special tokens are added to one text (`pair == false`) or to a pair.
    func addedTokens(pair: Bool) -> Int {
        switch self {
        case .none, .byteLevel: return 0
        case .roberta: return pair ? 4 : 2
        case let .template(single, pairItems):
            return (pair ? pairItems : single).reduce(0) { count, item in
                if case let .special(ids, _) = item.kind { return count + ids.count }
                return count
            }
        }
    }

    /// Builds the final encoding from the (truncated) tokens of one or two texts.
    func process(_ lists: inout (TokenList, TokenList), pair: Bool, addSpecialTokens: Bool,
                 spelling: (Int) -> String, trimCounts: (Int) -> (leading: Int, trailing: Int)) -> Encoding {
        switch self {
        case let .roberta(_, _, trim, prefix) where trim, let .byteLevel(trim, prefix) where trim:
            PostProcessor.trimOffsets(&lists.0, addPrefixSpace: prefix, trimCounts)
            if pair { PostProcessor.trimOffsets(&lists.1, addPrefixSpace: prefix, trimCounts) }
        default: break
        }
        let count = lists.0.count + (pair ? lists.1.count : 0)
        var encoding = Encoding()
        encoding.reserveCapacity(count + (addSpecialTokens ? addedTokens(pair: pair) : 0))
        let sequenceCount = pair ? 2 : 1
        func appendSequence(_ k: Int, typeId: Int) {
            let list = k == 0 ? lists.0 : lists.1
            var matched = list.matchedTexts.makeIterator()
            var next = matched.next()
            for t in 0..<list.count {
                var token = spelling(list.ids[t])
                if let m = next, m.index == t {
                    token = m.text
                    next = matched.next()
                }
                encoding.append(id: list.ids[t], token: token, typeId: typeId,
                                offset: list.starts[t]..<max(list.starts[t], list.ends[t]), special: false, sequence: k)
            }
        }
        func appendSpecial(_ id: Int, _ token: String, typeId: Int) {
            encoding.append(id: id, token: token, typeId: typeId, offset: 0..<0, special: true, sequence: nil)
        }
        guard addSpecialTokens else {
            for k in 0..<sequenceCount { appendSequence(k, typeId: k) }
            return encoding
        }
        switch self {
        case .none, .byteLevel:
            for k in 0..<sequenceCount { appendSequence(k, typeId: k) }
        case let .roberta(cls, sep, _, _):
            appendSpecial(cls.id, cls.token, typeId: 0)
            appendSequence(0, typeId: 0)
            appendSpecial(sep.id, sep.token, typeId: 0)
            if pair {
                appendSpecial(sep.id, sep.token, typeId: 0)
                appendSequence(1, typeId: 0)
                appendSpecial(sep.id, sep.token, typeId: 0)
            }
        case let .template(single, pairItems):
            for item in pair ? pairItems : single {
                switch item.kind {
                case let .special(ids, tokens):
                    for (id, token) in zip(ids, tokens) { appendSpecial(id, token, typeId: item.typeId) }
                case let .sequence(k):
                    if k < sequenceCount { appendSequence(k, typeId: item.typeId) }
                }
            }
        }
        return encoding
    }

    /// ByteLevel's `process_offsets`: offsets leave out the spaces (Ġ) that start or end a token, except the
    /// one space `add_prefix_space` put before the first token.
    static func trimOffsets(_ list: inout TokenList, addPrefixSpace: Bool,
                            _ trimCounts: (Int) -> (leading: Int, trailing: Int)) {
        for i in 0..<list.count {
            var (leading, trailing) = trimCounts(list.ids[i])
            if list.trims[i] != TokenList.fromVocabulary {
                (leading, trailing) = (Int(list.trims[i] >> 8), Int(list.trims[i] & 0xFF))
            }
            guard leading > 0 || trailing > 0 else { continue }
            var start = list.starts[i], end = list.ends[i]
            if leading > 0 {
                let isFirst = i == 0 || start == 0
                if isFirst && addPrefixSpace && leading == 1 { leading = 0 }
                start = min(start + leading, end)
            }
            if trailing > 0 && end >= trailing { end = max(end - trailing, start) }
            list.starts[i] = start
            list.ends[i] = end
        }
    }
}
