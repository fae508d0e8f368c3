// Loading the older per-model files: BERT's vocab.txt and GPT-2 / RoBERTa's vocab.json + merges.txt, and a
// checkpoint directory holding any of them.
import FoundationEssentials
import JSON

/// The configuration a `vocab.json` + `merges.txt` pair is used with.
public enum BPEStyle: Sendable {
    /// GPT-2: no special tokens around a text, `<|endoftext|>` special, offsets not trimmed.
    case gpt2
    /// RoBERTa: `<s> A </s></s> B </s>`, `<mask>` taking the space before it, offsets trimmed.
    case roberta
}

extension Tokenizer {
    /// A BERT tokenizer from a `vocab.txt` (one token a line, the line number is the id), configured as
    /// `BertTokenizerFast` is: `stripAccents` nil follows `lowercase`.
    public static func fromWordPieceVocabulary(_ path: String, lowercase: Bool = true, stripAccents: Bool? = nil,
                                               tokenizeChineseChars: Bool = true) throws(TokenizerError) -> Tokenizer {
        let file = "vocab.txt"
        guard let text = String(validating: try readFile(path), as: UTF8.self) else {
            throw .invalidField(file: file, field: "(contents)", reason: "is not valid UTF-8")
        }
        var vocabulary: [String: Int] = [:]
        // Lines end in "\n" or "\r\n" (one Character in Swift, so splitting on "\n" alone kept a
        // CRLF file as a single line). A token on two lines gets the later line's id, as
        // transformers' `load_vocab` and the tokenizers crate (a map insert per line) give it.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        if lines.last == "" { lines.removeLast() }
        for (i, line) in lines.enumerated() {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            vocabulary[token] = i
        }
        let model = try WordPiece(vocabulary: vocabulary, unknownToken: "[UNK]", continuationPrefix: "##",
                                  maxInputCharsPerWord: 100, file: file)
        let added = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in
            vocabulary[token].map { AddedToken(content: token, id: $0) }
        }
        guard let cls = vocabulary["[CLS]"], let sep = vocabulary["[SEP]"] else {
            throw .unknownToken(file: file, field: "special tokens", token: vocabulary["[CLS]"] == nil ? "[CLS]" : "[SEP]")
        }
        let normalizer = BertNormalizer(cleanText: true, handleChineseChars: tokenizeChineseChars,
                                        stripAccents: stripAccents ?? lowercase, lowercase: lowercase)
        return Tokenizer(core: TokenizerCore(
            normalizer: normalizer, preTokenizer: .bert, model: .wordPiece(model), vocabulary: vocabulary,
            addedTokens: added, postProcessor: .bert(cls: (cls, "[CLS]"), sep: (sep, "[SEP]")),
            decoder: .wordPiece(prefix: "##", cleanup: true)))
    }

    /// A byte-level BPE tokenizer from `vocab.json` and `merges.txt`, configured as GPT-2 or RoBERTa.
    public static func fromBPEFiles(vocabulary vocabularyPath: String, merges mergesPath: String,
                                    style: BPEStyle = .gpt2,
                                    addPrefixSpace: Bool = false) throws(TokenizerError) -> Tokenizer {
        let vocabulary = try JSONField(parsing: try readFile(vocabularyPath), file: "vocab.json").vocabulary()
        guard let text = String(validating: try readFile(mergesPath), as: UTF8.self) else {
            throw .invalidField(file: "merges.txt", field: "(contents)", reason: "is not valid UTF-8")
        }
        var merges: [(String, String)] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.hasSuffix("\r") ? line.dropLast() : line
            if line.isEmpty || (i == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw .invalidField(file: "merges.txt", field: "line \(i + 1)", reason: "must be two tokens separated by one space")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        switch style {
        case .gpt2:
            let model = try ByteLevelBPE(vocabulary: vocabulary, merges: merges, unknownToken: nil,
                                         ignoreMerges: false, file: "merges.txt")
            let added = vocabulary["<|endoftext|>"].map { [AddedToken(content: "<|endoftext|>", id: $0)] } ?? []
            return Tokenizer(core: TokenizerCore(
                normalizer: nil, preTokenizer: .byteLevel(addPrefixSpace: addPrefixSpace, useRegex: true),
                model: .bpe(model), vocabulary: vocabulary, addedTokens: added,
                postProcessor: .byteLevel(trimOffsets: false, addPrefixSpace: addPrefixSpace), decoder: .byteLevel))
        case .roberta:
            var missing: String? = nil
            for token in ["<s>", "</s>", "<pad>", "<unk>", "<mask>"] where vocabulary[token] == nil { missing = token }
            if let missing { throw .unknownToken(file: "vocab.json", field: "RoBERTa special tokens", token: missing) }
            let model = try ByteLevelBPE(vocabulary: vocabulary, merges: merges, unknownToken: "<unk>",
                                         ignoreMerges: false, file: "merges.txt")
            var added = ["<s>", "<pad>", "</s>", "<unk>"].map {
                AddedToken(content: $0, id: vocabulary[$0]!, normalized: true)
            }
            added.append(AddedToken(content: "<mask>", id: vocabulary["<mask>"]!, lstrip: true))
            return Tokenizer(core: TokenizerCore(
                normalizer: nil, preTokenizer: .byteLevel(addPrefixSpace: addPrefixSpace, useRegex: true),
                model: .bpe(model), vocabulary: vocabulary, addedTokens: added,
                postProcessor: .roberta(cls: (vocabulary["<s>"]!, "<s>"), sep: (vocabulary["</s>"]!, "</s>"),
                                        trimOffsets: true, addPrefixSpace: addPrefixSpace),
                decoder: .byteLevel))
        }
    }

    /// Loads the tokenizer of a checkpoint directory: `tokenizer.json` if present, else Marian's
    /// `source.spm` + `vocab.json` (`fromMarianDirectory`), else a SentencePiece model
    /// (`tokenizer.model`, `spiece.model`, `sentencepiece.bpe.model`, `source.spm`), else `vocab.txt` (with
    /// `tokenizer_config.json`'s `do_lower_case`, `strip_accents`, `tokenize_chinese_chars`), else
    /// `vocab.json` + `merges.txt` (RoBERTa style when `tokenizer_config.json` names a Roberta tokenizer).
    public static func fromDirectory(_ path: String) throws(TokenizerError) -> Tokenizer {
        let fm = FileManager.default
        func file(_ name: String) -> String? {
            let full = path.hasSuffix("/") ? path + name : path + "/" + name
            return fm.fileExists(atPath: full) ? full : nil
        }
        if let json = file("tokenizer.json") { return try fromFile(json) }
        if file("source.spm") != nil, file("vocab.json") != nil { return try fromMarianDirectory(path) }
        for name in ["tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "source.spm"] {
            if let model = file(name) { return try fromSentencePieceModel(model) }
        }
        var config = JSONField(JSONReader(.object([]), file: "tokenizer_config.json"))
        if let c = file("tokenizer_config.json") { config = try JSONField(parsing: try readFile(c), file: "tokenizer_config.json") }
        if let vocab = file("vocab.txt") {
            return try fromWordPieceVocabulary(
                vocab, lowercase: try config.optionalBool("do_lower_case", default: true),
                stripAccents: try config.optional("strip_accents")?.bool(),
                tokenizeChineseChars: try config.optionalBool("tokenize_chinese_chars", default: true))
        }
        if let vocab = file("vocab.json"), let merges = file("merges.txt") {
            let className = try config.optionalString("tokenizer_class") ?? ""
            return try fromBPEFiles(vocabulary: vocab, merges: merges,
                                    style: className.contains("Roberta") ? .roberta : .gpt2,
                                    addPrefixSpace: try config.optionalBool("add_prefix_space", default: false))
        }
        throw .noTokenizerFiles(directory: path)
    }
}
