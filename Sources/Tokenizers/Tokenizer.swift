// The public face of the module: a tokenizer loaded from Hugging Face files that encodes and decodes as
// Hugging Face `tokenizers` does.

/// The pre-tokenizer that splits normalized text into words.
enum PreTokenizer: Sendable, Equatable {
    /// The whole text is one word.
    case none
    /// BertPreTokenizer: whitespace and punctuation.
    case bert
    /// ByteLevel: a space before each piece of text (`addPrefixSpace`), then the GPT-2 pattern (`useRegex`).
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// Metaspace: spaces become `replacement`, which is also put before a piece of text as `prepend` says;
    /// with `split`, each word starts at a replacement character.
    /// (after a WhitespaceSplit when `afterWhitespaceSplit`, as in a `Sequence` of the two).
    case metaspace(replacement: [UInt8], prepend: PrependScheme, split: Bool, afterWhitespaceSplit: Bool)
    /// WhitespaceSplit: words between runs of whitespace (Rust's `char::is_whitespace`), which is dropped.
    case whitespaceSplit
    /// Split on a pattern (Qwen2's and Llama 3's regex), then, when `byteLevel`, a ByteLevel
    /// pre-tokenizer without its own regex or prefix space (a `Sequence` of the two).
    case split(SplitRule, byteLevel: Bool)
}

/// The model that turns a word into tokens.
enum TokenModel: Sendable {
    case wordPiece(WordPiece)
    case bpe(ByteLevelBPE)
    case unigram(Unigram)
    /// A SentencePiece `.model` read directly: normalization and segmentation as `sentencepiece` does them.
    case sentencePiece(SentencePieceProcessor)
    /// Marian's: a SentencePiece model's segmentation with vocab.json's ids (`MarianVocabulary`).
    case marian(MarianVocabulary)
}

/// Everything a tokenizer is made of; immutable and shared between copies of a `Tokenizer`.
final class TokenizerCore: Sendable {
    let normalizer: BertNormalizer?
    /// Normalizers after (or instead of) `normalizer`: a tokenizer.json `Sequence` of them.
    let steps: [NormalizerStep]
    let preTokenizer: PreTokenizer
    let model: TokenModel
    let added: AddedVocabulary
    let postProcessor: PostProcessor
    let decoder: TokenDecoder
    /// id → token, model vocabulary and added tokens.
    let spellings: [String?]
    let ids: [String: Int]
    let specialIds: Set<Int>
    /// Leading and trailing spaces (Ġ or whitespace) of each token, for ByteLevel offset trimming.
    let trims: [UInt16]

    init(normalizer: BertNormalizer?, preTokenizer: PreTokenizer, model: TokenModel, vocabulary: [String: Int],
         addedTokens: [AddedToken], postProcessor: PostProcessor, decoder: TokenDecoder,
         steps: [NormalizerStep] = []) {
        self.normalizer = normalizer
        self.steps = steps
        self.preTokenizer = preTokenizer
        self.model = model
        self.postProcessor = postProcessor
        self.decoder = decoder
        added = AddedVocabulary(tokens: addedTokens) { content in
            guard !steps.isEmpty else { return normalizer?.normalize(content) ?? Array(content.utf8) }
            var text = NormalizedText()
            let bytes = normalizer?.normalize(content) ?? Array(content.utf8)
            bytes.withUnsafeBufferPointer { text.appendVerbatim($0, 0, $0.count) }
            var scratch = NormalizedText()
            for step in steps {
                step.apply(text, pieceStart: 0, into: &scratch)
                swap(&text, &scratch)
            }
            return text.bytes
        }
        var ids = vocabulary
        for token in addedTokens { ids[token.content] = token.id }
        // An added token may re-map a vocabulary token's spelling to another id, so the table must
        // cover the largest id of either source, not just the ids still reachable by spelling.
        let size = max(vocabulary.values.max() ?? -1, addedTokens.map(\.id).max() ?? -1) + 1
        var spellings = [String?](repeating: nil, count: size)
        for (token, id) in vocabulary { spellings[id] = token }
        for token in addedTokens { spellings[token.id] = token.content }
        self.spellings = spellings
        self.ids = ids
        specialIds = Set(addedTokens.filter(\.special).map(\.id))
        var trims = [UInt16](repeating: 0, count: size)
        switch postProcessor {
        case .roberta(_, _, true, _), .byteLevel(true, _):
            for (id, spelling) in spellings.enumerated() {
                guard let scalars = spelling?.unicodeScalars.map(\.value) else { continue }
                trims[id] = AddedVocabulary.spaceCounts(scalars) {
                    $0 == 0x120 || UnicodeData.classes($0).contains(.whitespace)  // Ġ is the byte-level space
                }
            }
        default: break
        }
        self.trims = trims
    }

    func spelling(_ id: Int) -> String { id >= 0 && id < spellings.count ? spellings[id] ?? "" : "" }

    /// Buffers reused from one text to the next of a batch.
    struct Workspace {
        var pieces: [AddedVocabulary.Piece] = []
        var subPieces: [AddedVocabulary.Piece] = []
        var words: [Int] = []
        var normalized = NormalizedText()
        var prefixed = NormalizedText()
        var scratch = NormalizedText()
    }

    /// Tokens (ids and original byte spans) of one text, before post-processing, into `tokens` (emptied
    /// first, its storage reused).
    func tokenize(_ text: String, _ workspace: inout Workspace, into tokens: inout TokenList) {
        tokens.removeAll()
        var text = text
        text.withUTF8 { p in
            workspace.pieces.removeAll(keepingCapacity: true)
            added.split(p, 0, p.count, normalizedSet: false, into: &workspace.pieces)
            for piece in workspace.pieces {
                if let id = piece.id {
                    noteMatchedText(p, piece.start, piece.end, id: id, in: &tokens)
                    tokens.append(id: id, start: piece.start, end: piece.end,
                                  trim: AddedVocabulary.whitespaceTrim(p, piece.start, piece.end))
                    continue
                }
                if case let .sentencePiece(processor) = model {
                    processor.tokenize(p, piece.start, piece.end, &workspace.normalized, into: &tokens)
                    continue
                }
                if case let .marian(vocabulary) = model {
                    vocabulary.tokenize(p, piece.start, piece.end, &workspace.normalized, into: &tokens)
                    continue
                }
                workspace.normalized.removeAll()
                if let normalizer {
                    normalizer.normalize(p, piece.start, piece.end, into: &workspace.normalized)
                } else {
                    workspace.normalized.appendVerbatim(p, piece.start, piece.end)
                }
                for step in steps {
                    step.apply(workspace.normalized, pieceStart: Int32(piece.start), into: &workspace.scratch)
                    swap(&workspace.normalized, &workspace.scratch)
                }
                workspace.subPieces.removeAll(keepingCapacity: true)
                let normalized = workspace.normalized
                normalized.withView { view in
                    added.split(view.bytes, 0, view.bytes.count, normalizedSet: true, into: &workspace.subPieces)
                    for sub in workspace.subPieces {
                        if let id = sub.id {
                            let (s, e) = view.originalSpan(sub.start, sub.end)
                            noteMatchedText(view.bytes, sub.start, sub.end, id: id, in: &tokens)
                            tokens.append(id: id, start: s, end: e,
                                          trim: AddedVocabulary.whitespaceTrim(view.bytes, sub.start, sub.end))
                        } else if case let .metaspace(replacement, prepend, split, afterWhitespaceSplit) = preTokenizer {
                            if afterWhitespaceSplit {
                                var words: [Int] = []
                                TokenizerCore.splitOnWhitespace(view.bytes, sub.start, sub.end, into: &words)
                                for k in stride(from: 0, to: words.count, by: 2) {
                                    metaspace(view, words[k], words[k + 1], replacement, prepend, split, &workspace, into: &tokens)
                                }
                            } else {
                                metaspace(view, sub.start, sub.end, replacement, prepend, split, &workspace, into: &tokens)
                            }
                        } else if case .byteLevel(true, _) = preTokenizer, view.bytes[sub.start] != 0x20 {
                            workspace.prefixed.removeAll()
                            workspace.prefixed.append(byte: 0x20, start: view.starts[sub.start], end: view.ends[sub.start])
                            workspace.prefixed.bytes += view.bytes[sub.start..<sub.end]
                            workspace.prefixed.starts += view.starts[sub.start..<sub.end]
                            workspace.prefixed.ends += view.ends[sub.start..<sub.end]
                            let prefixed = workspace.prefixed
                            prefixed.withView { pv in
                                tokenizeWords(pv, 0, pv.bytes.count, words: &workspace.words, into: &tokens)
                            }
                        } else {
                            tokenizeWords(view, sub.start, sub.end, words: &workspace.words, into: &tokens)
                        }
                    }
                }
            }
        }
    }

    /// HF's Metaspace on normalized bytes `lo..<hi`: spaces replaced (each keeping its span), the
    /// replacement prepended (with the span of the first character, as HF's `prepend` gives it) as the scheme says, then words split before
    /// each replacement character.
    private func metaspace(_ view: NormalizedView, _ lo: Int, _ hi: Int, _ replacement: [UInt8],
                           _ prepend: PrependScheme, _ split: Bool, _ workspace: inout Workspace,
                           into tokens: inout TokenList) {
        guard hi > lo else { return }
        var text = workspace.prefixed
        text.removeAll()
        for i in lo..<hi {
            if view.bytes[i] == 0x20 {
                for b in replacement { text.append(byte: b, start: view.starts[i], end: view.ends[i]) }
            } else {
                text.append(byte: view.bytes[i], start: view.starts[i], end: view.ends[i])
            }
        }
        let startsWithReplacement = text.bytes.starts(with: replacement)
        let add = !startsWithReplacement && (prepend == .always || (prepend == .first && view.starts[lo] == 0))
        if add {
            let (s, e) = (text.starts[0], text.ends[0])
            text.bytes.insert(contentsOf: replacement, at: 0)
            text.starts.insert(contentsOf: repeatElement(s, count: replacement.count), at: 0)
            text.ends.insert(contentsOf: repeatElement(e, count: replacement.count), at: 0)
        }
        workspace.prefixed = text
        text.withView { v in
            var words: [Int] = []
            if split {
                var start = 0
                var i = 0
                let n = v.bytes.count
                while i < n {
                    if i > start, i + replacement.count <= n, v.bytes[i] == replacement[0],
                       v.bytes[i..<(i + replacement.count)].elementsEqual(replacement) {
                        words += [start, i]
                        start = i
                    }
                    i += 1
                }
                words += [start, n]
            } else {
                words = [0, v.bytes.count]
            }
            var k = 0
            while k < words.count {
                let (s, e) = (words[k], words[k + 1])
                k += 2
                if e > s { runModel(v, s, e, into: &tokens) }
            }
        }
    }

    /// Appends the words of `p[lo..<hi]` between runs of whitespace (HF's WhitespaceSplit) to `words`.
    static func splitOnWhitespace(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, into words: inout [Int]) {
        var start = -1
        var i = lo
        while i < hi {
            let (v, length) = decodeUTF8(p, at: i)
            if isRustWhitespace(v) {
                if start >= 0 { words += [start, i]; start = -1 }
            } else if start < 0 {
                start = i
            }
            i += length
        }
        if start >= 0 { words += [start, hi] }
    }

    /// Runs the model on one word.
    @inline(__always)
    private func runModel(_ view: NormalizedView, _ s: Int, _ e: Int, into tokens: inout TokenList) {
        switch model {
        case let .wordPiece(model): model.tokenize(view, s, e, into: &tokens)
        case let .bpe(model): model.tokenize(view, s, e, into: &tokens)
        case let .unigram(model): model.tokenize(view, s, e, into: &tokens)
        case .sentencePiece, .marian: preconditionFailure("SentencePiece models tokenize whole texts")
        }
    }

    /// Records the matched text of the added token about to be appended when it is not the token's content.
    private func noteMatchedText(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, id: Int,
                                 in tokens: inout TokenList) {
        let content = spelling(id)
        if hi - lo != content.utf8.count || !p[lo..<hi].elementsEqual(content.utf8) {
            tokens.matchedTexts.append((tokens.count, String(decoding: p[lo..<hi], as: UTF8.self)))
        }
    }

    /// Pre-tokenizes normalized bytes `lo..<hi` and runs the model on each word.
    private func tokenizeWords(_ view: NormalizedView, _ lo: Int, _ hi: Int, words: inout [Int],
                               into tokens: inout TokenList) {
        words.removeAll(keepingCapacity: true)
        switch preTokenizer {
        case .none: words += [lo, hi]
        case .bert: BertPreTokenizer.split(view.bytes, lo, hi, into: &words)
        case let .byteLevel(_, useRegex):
            if useRegex { ByteLevel.split(view.bytes, lo, hi, into: &words) } else { words += [lo, hi] }
        case .metaspace: words += [lo, hi]
        case .whitespaceSplit: TokenizerCore.splitOnWhitespace(view.bytes, lo, hi, into: &words)
        case let .split(rule, _): rule.split(view.bytes, lo, hi, into: &words)
        }
        var k = 0
        while k < words.count {
            let (s, e) = (words[k], words[k + 1])
            k += 2
            guard e > s else { continue }
            runModel(view, s, e, into: &tokens)
        }
    }
}

/// A WordPiece (BERT), byte-level BPE (GPT-2, RoBERTa), Unigram (T5, XLM-R) or SentencePiece BPE (Llama)
/// tokenizer that gives the ids Hugging Face `tokenizers` gives (or, loaded from a SentencePiece `.model`,
/// the ids the `sentencepiece` library gives).
///
/// ```swift
/// var tokenizer = try Tokenizer.fromDirectory(".models/all-MiniLM-L6-v2")
/// tokenizer.padding = Padding(length: .longest)
/// let batch = try tokenizer.encodeBatch(["Hello, world!", "Tokenizers are fun."])
/// let text = tokenizer.decode(batch[0].ids)   // "hello, world!"
/// ```
///
/// A `Tokenizer` is a value: copies share the loaded vocabulary and may change `truncation` and `padding`
/// independently. It is safe to use from several threads at once.
public struct Tokenizer: Sendable {
    let core: TokenizerCore
    /// Truncation applied by every `encode` call (from tokenizer.json's `truncation`, or nil).
    public var truncation: Truncation?
    /// Padding applied by every `encode` call (from tokenizer.json's `padding`, or nil).
    public var padding: Padding?

    init(core: TokenizerCore, truncation: Truncation? = nil, padding: Padding? = nil) {
        self.core = core
        self.truncation = truncation
        self.padding = padding
    }

    /// The number of ids (model vocabulary and added tokens).
    public var vocabularySize: Int { core.spellings.count }

    /// The added and special tokens.
    public var addedTokens: [AddedToken] { core.added.tokens }

    /// The id of `token`, or nil if it is not in the vocabulary.
    public func id(for token: String) -> Int? { core.ids[token] }

    /// The token with id `id`, or nil.
    public func token(for id: Int) -> String? {
        id >= 0 && id < core.spellings.count ? core.spellings[id] : nil
    }

    /// Encodes one text: tokens, special tokens around them, then truncation and padding as configured.
    public func encode(_ text: String, addSpecialTokens: Bool = true) throws(TokenizerError) -> Encoding {
        var workspace = TokenizerCore.Workspace()
        var lists = (TokenList(), TokenList())
        var batch = [try encodeOne(text, nil, addSpecialTokens: addSpecialTokens, &workspace, &lists)]
        padding?.apply(to: &batch)
        return batch[0]
    }

    /// Encodes a pair of texts (question and context, two sentences): type ids tell them apart.
    public func encodePair(_ first: String, _ second: String,
                           addSpecialTokens: Bool = true) throws(TokenizerError) -> Encoding {
        var workspace = TokenizerCore.Workspace()
        var lists = (TokenList(), TokenList())
        var batch = [try encodeOne(first, second, addSpecialTokens: addSpecialTokens, &workspace, &lists)]
        padding?.apply(to: &batch)
        return batch[0]
    }

    /// Encodes several texts on the calling thread; `Padding.Length.longest` pads to the longest of them.
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true) throws(TokenizerError) -> [Encoding] {
        var batch: [Encoding] = []
        batch.reserveCapacity(texts.count)
        var workspace = TokenizerCore.Workspace()
        var lists = (TokenList(), TokenList())
        for text in texts {
            batch.append(try encodeOne(text, nil, addSpecialTokens: addSpecialTokens, &workspace, &lists))
        }
        padding?.apply(to: &batch)
        return batch
    }

    /// Encodes several pairs of texts on the calling thread.
    public func encodeBatch(pairs: [(String, String)],
                            addSpecialTokens: Bool = true) throws(TokenizerError) -> [Encoding] {
        var batch: [Encoding] = []
        batch.reserveCapacity(pairs.count)
        var workspace = TokenizerCore.Workspace()
        var lists = (TokenList(), TokenList())
        for (a, b) in pairs {
            batch.append(try encodeOne(a, b, addSpecialTokens: addSpecialTokens, &workspace, &lists))
        }
        padding?.apply(to: &batch)
        return batch
    }

    /// Encodes one text or pair; `lists` are token buffers reused from one call to the next.
    private func encodeOne(_ first: String, _ second: String?, addSpecialTokens: Bool,
                           _ workspace: inout TokenizerCore.Workspace,
                           _ lists: inout (TokenList, TokenList)) throws(TokenizerError) -> Encoding {
        core.tokenize(first, &workspace, into: &lists.0)
        let pair = second != nil
        if let second { core.tokenize(second, &workspace, into: &lists.1) }
        if let truncation {
            let added = addSpecialTokens ? core.postProcessor.addedTokens(pair: pair) : 0
            try truncation.apply(&lists, pair: pair, added: added)
        }
        let shared = core
        return shared.postProcessor.process(&lists, pair: pair, addSpecialTokens: addSpecialTokens,
                                          spelling: { shared.spelling($0) },
                                          trimCounts: { id in
                                              let t = id >= 0 && id < shared.trims.count ? shared.trims[id] : 0
                                              return (Int(t >> 8), Int(t & 0xFF))
                                          })
    }

    /// The text of `ids`; special tokens are left out unless `skipSpecialTokens` is false. Unknown ids are
    /// skipped. Byte-level tokenizers give back the exact original text (invalid UTF-8 becomes U+FFFD).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard id >= 0, id < core.spellings.count, let spelling = core.spellings[id] else { continue }
            if skipSpecialTokens && core.specialIds.contains(id) { continue }
            tokens.append(spelling)
        }
        return core.decoder.decode(tokens)
    }

    /// `decode(_:skipSpecialTokens:)` for each element.
    public func decodeBatch(_ batch: [[Int]], skipSpecialTokens: Bool = true) -> [String] {
        batch.map { decode($0, skipSpecialTokens: skipSpecialTokens) }
    }
}
