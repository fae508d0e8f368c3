// Loading Hugging Face's fast-tokenizer format (tokenizer.json) for the configurations BERT, RoBERTa and
// GPT-2 checkpoints use. Anything else is a `TokenizerError` that names the component.
import FoundationEssentials
import JSON

/// Typed access to the fields of a JSON document, with errors that name the file and the field.
struct FieldReader {
    let file: String

    /// The member `key` of `object`; an error if it is missing.
    func required(_ object: JSONValue, _ key: String, at path: String) throws(TokenizerError) -> JSONValue {
        guard case .object = object else { throw .invalidField(file: file, field: path, reason: "must be an object") }
        guard let value = object[key] else { throw .missingField(file: file, field: join(path, key)) }
        return value
    }

    /// The member `key` of `object`, or nil when it is missing or null.
    func optional(_ object: JSONValue, _ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func string(_ value: JSONValue, at path: String) throws(TokenizerError) -> String {
        guard let s = value.stringValue else { throw mismatch(value, "a string", at: path) }
        return s
    }

    func int(_ value: JSONValue, at path: String) throws(TokenizerError) -> Int {
        guard let n = value.intValue else { throw mismatch(value, "an integer", at: path) }
        return n
    }

    func bool(_ value: JSONValue, at path: String) throws(TokenizerError) -> Bool {
        guard let b = value.boolValue else { throw mismatch(value, "a boolean", at: path) }
        return b
    }

    func array(_ value: JSONValue, at path: String) throws(TokenizerError) -> [JSONValue] {
        guard let a = value.arrayValue else { throw mismatch(value, "an array", at: path) }
        return a
    }

    /// The error for a value of the wrong type, worded as `JSONReader` words it.
    func mismatch(_ value: JSONValue, _ expected: String, at path: String) -> TokenizerError {
        .invalidField(file: file, field: path, reason: "must be \(expected), got \(value.shortDescription)")
    }

    func optionalBool(_ object: JSONValue, _ key: String, at path: String, default d: Bool) throws(TokenizerError) -> Bool {
        guard let v = optional(object, key) else { return d }
        return try bool(v, at: join(path, key))
    }

    func optionalString(_ object: JSONValue, _ key: String, at path: String) throws(TokenizerError) -> String? {
        guard let v = optional(object, key) else { return nil }
        return try string(v, at: join(path, key))
    }

    /// The error for a component type (or option value) this module does not implement.
    func unsupported(_ component: String, _ type: String) -> TokenizerError {
        .unsupported(file: file, component: "\(component) type", detail: "'\(type)'")
    }

    /// A component's `type`.
    func type(_ object: JSONValue, at path: String) throws(TokenizerError) -> String {
        try string(try required(object, "type", at: path), at: join(path, "type"))
    }

    /// A vocabulary object {token: id}; ids must be in 0..<10,000,000.
    func vocabulary(_ value: JSONValue, at path: String) throws(TokenizerError) -> [String: Int] {
        guard case let .object(members) = value else {
            throw .invalidField(file: file, field: path, reason: "must be an object of token ids, got \(value.shortDescription)")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(members.count)
        for (token, idValue) in members {
            let id = try int(idValue, at: "\(path)[\"\(token)\"]")
            guard id >= 0 && id < 10_000_000 else {
                throw .invalidField(file: file, field: "\(path)[\"\(token)\"]", reason: "has an impossible id \(id)")
            }
            vocabulary[token] = id
        }
        return vocabulary
    }
}

/// Parses a JSON document with the hardened parser, as a `TokenizerError`: a syntax error is
/// `invalidJSON` (with its byte offset), a duplicate key names the object holding it.
func parseJSON(_ bytes: [UInt8], file: String) throws(TokenizerError) -> JSONValue {
    do { return try JSONParser.parse(bytes, file: file) } catch {
        switch error.kind {
        case .syntax, .unreadable: throw .invalidJSON(file: file, reason: error.reason)
        case .duplicateKey, .missing, .invalid: throw .invalidField(file: file, field: error.field, reason: error.reason)
        }
    }
}

/// Reads a whole file.
func readFile(_ path: String) throws(TokenizerError) -> [UInt8] {
    do {
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
        let exists = FileManager.default.fileExists(atPath: path)
        throw .unreadableFile(path: path, reason: exists ? "\(error)" : "no such file")
    }
}

extension Tokenizer {
    /// Loads a Hugging Face `tokenizer.json` (the fast-tokenizer format), with its truncation and padding.
    ///
    /// ```swift
    /// let tokenizer = try Tokenizer.fromFile("checkpoint/tokenizer.json")
    /// ```
    public static func fromFile(_ path: String) throws(TokenizerError) -> Tokenizer {
        try Tokenizer(tokenizerJSON: try readFile(path), file: path)
    }

    /// Parses the contents of a `tokenizer.json`; `file` names it in errors.
    public init(tokenizerJSON bytes: [UInt8], file: String = "tokenizer.json") throws(TokenizerError) {
        let r = FieldReader(file: file)
        let root = try parseJSON(bytes, file: file)
        guard case .object = root else { throw .invalidField(file: file, field: "(root)", reason: "must be an object") }
        let addedTokens = try r.optional(root, "added_tokens").map { v throws(TokenizerError) in try Tokenizer.addedTokens(v, r) } ?? []

        let normalizer = try r.optional(root, "normalizer").map { v throws(TokenizerError) in try Tokenizer.normalizer(v, r) }
        let preTokenizer = try r.optional(root, "pre_tokenizer").map { v throws(TokenizerError) in try Tokenizer.preTokenizer(v, r) } ?? PreTokenizer.none
        let (model, vocabulary) = try Tokenizer.model(try r.required(root, "model", at: ""), preTokenizer: preTokenizer, r)
        var ids = vocabulary
        for token in addedTokens { ids[token.content] = token.id }
        let postProcessor = try r.optional(root, "post_processor").map { v throws(TokenizerError) in try Tokenizer.postProcessor(v, ids: ids, r) } ?? PostProcessor.none
        let decoder = try r.optional(root, "decoder").map { v throws(TokenizerError) in try Tokenizer.decoder(v, r) } ?? TokenDecoder.none
        let core = TokenizerCore(normalizer: normalizer ?? nil, preTokenizer: preTokenizer, model: model,
                                 vocabulary: vocabulary, addedTokens: addedTokens, postProcessor: postProcessor,
                                 decoder: decoder)
        self.init(core: core,
                  truncation: try r.optional(root, "truncation").map { v throws(TokenizerError) in try Tokenizer.truncation(v, r) },
                  padding: try r.optional(root, "padding").map { v throws(TokenizerError) in try Tokenizer.padding(v, r) })
    }

    static func addedTokens(_ value: JSONValue, _ r: FieldReader) throws(TokenizerError) -> [AddedToken] {
        var tokens: [AddedToken] = []
        for (i, item) in try r.array(value, at: "added_tokens").enumerated() {
            let path = "added_tokens[\(i)]"
            let id = try r.int(try r.required(item, "id", at: path), at: "\(path).id")
            guard id >= 0 && id < 10_000_000 else { throw .invalidField(file: r.file, field: "\(path).id", reason: "has an impossible id \(id)") }
            tokens.append(AddedToken(
                content: try r.string(try r.required(item, "content", at: path), at: "\(path).content"), id: id,
                special: try r.optionalBool(item, "special", at: path, default: false),
                lstrip: try r.optionalBool(item, "lstrip", at: path, default: false),
                rstrip: try r.optionalBool(item, "rstrip", at: path, default: false),
                singleWord: try r.optionalBool(item, "single_word", at: path, default: false),
                normalized: try r.optionalBool(item, "normalized", at: path, default: true)))
        }
        return tokens
    }

    static func normalizer(_ value: JSONValue, _ r: FieldReader) throws(TokenizerError) -> BertNormalizer? {
        let type = try r.type(value, at: "normalizer")
        switch type {
        case "BertNormalizer":
            let lowercase = try r.optionalBool(value, "lowercase", at: "normalizer", default: true)
            return BertNormalizer(
                cleanText: try r.optionalBool(value, "clean_text", at: "normalizer", default: true),
                handleChineseChars: try r.optionalBool(value, "handle_chinese_chars", at: "normalizer", default: true),
                stripAccents: try r.optionalBool(value, "strip_accents", at: "normalizer", default: lowercase),
                lowercase: lowercase)
        case "Sequence":
            let items = try r.array(try r.required(value, "normalizers", at: "normalizer"), at: "normalizer.normalizers")
            if items.isEmpty { return nil }
            throw .unsupported(file: r.file, component: "normalizer type", detail: "'Sequence' (non-empty)")
        default:
            throw r.unsupported("normalizer", type)
        }
    }

    static func preTokenizer(_ value: JSONValue, _ r: FieldReader) throws(TokenizerError) -> PreTokenizer {
        let type = try r.type(value, at: "pre_tokenizer")
        switch type {
        case "BertPreTokenizer":
            return .bert
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try r.optionalBool(value, "add_prefix_space", at: "pre_tokenizer", default: true),
                              useRegex: try r.optionalBool(value, "use_regex", at: "pre_tokenizer", default: true))
        default:
            throw r.unsupported("pre_tokenizer", type)
        }
    }

    static func model(_ value: JSONValue, preTokenizer: PreTokenizer,
                      _ r: FieldReader) throws(TokenizerError) -> (TokenModel, [String: Int]) {
        guard case .object = value else { throw .invalidField(file: r.file, field: "model", reason: "must be an object") }
        let type: String
        if let t = r.optional(value, "type") {
            type = try r.string(t, at: "model.type")
        } else if value["merges"] != nil {
            type = "BPE"
        } else if value["continuing_subword_prefix"] != nil && value["max_input_chars_per_word"] != nil {
            type = "WordPiece"
        } else {
            throw .missingField(file: r.file, field: "model.type")
        }
        let vocabulary = try r.vocabulary(try r.required(value, "vocab", at: "model"), at: "model.vocab")
        switch type {
        case "WordPiece":
            if case .byteLevel = preTokenizer {
                throw .unsupported(file: r.file, component: "model WordPiece", detail: "with a ByteLevel pre_tokenizer")
            }
            let maxChars = try r.optional(value, "max_input_chars_per_word").map { v throws(TokenizerError) in
                try r.int(v, at: "model.max_input_chars_per_word") } ?? 100
            let model = try WordPiece(
                vocabulary: vocabulary,
                unknownToken: try r.optionalString(value, "unk_token", at: "model") ?? "[UNK]",
                continuationPrefix: try r.optionalString(value, "continuing_subword_prefix", at: "model") ?? "##",
                maxInputCharsPerWord: maxChars, file: r.file)
            return (.wordPiece(model), vocabulary)
        case "BPE":
            guard case .byteLevel = preTokenizer else {
                throw .unsupported(file: r.file, component: "model BPE", detail: "without a ByteLevel pre_tokenizer")
            }
            if let dropout = r.optional(value, "dropout"), let p = dropout.doubleValue, p > 0 {
                throw .unsupported(file: r.file, component: "model BPE", detail: "dropout \(p)")
            }
            for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
                if let s = try r.optionalString(value, key, at: "model"), !s.isEmpty {
                    throw .unsupported(file: r.file, component: "model BPE", detail: "\(key) '\(s)'")
                }
            }
            for key in ["fuse_unk", "byte_fallback"] where try r.optionalBool(value, key, at: "model", default: false) {
                throw .unsupported(file: r.file, component: "model BPE", detail: "\(key) true")
            }
            var merges: [(String, String)] = []
            let items = try r.array(try r.required(value, "merges", at: "model"), at: "model.merges")
            merges.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                let path = "model.merges[\(i)]"
                switch item {
                case let .string(s):
                    let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                    guard parts.count == 2 else {
                        throw .invalidField(file: r.file, field: path, reason: "must be two tokens separated by one space")
                    }
                    merges.append((String(parts[0]), String(parts[1])))
                case let .array(pair) where pair.count == 2:
                    merges.append((try r.string(pair[0], at: path), try r.string(pair[1], at: path)))
                default:
                    throw .invalidField(file: r.file, field: path, reason: "must be a pair of tokens")
                }
            }
            let model = try ByteLevelBPE(
                vocabulary: vocabulary, merges: merges,
                unknownToken: try r.optionalString(value, "unk_token", at: "model"),
                ignoreMerges: try r.optionalBool(value, "ignore_merges", at: "model", default: false), file: r.file)
            return (.bpe(model), vocabulary)
        default:
            throw r.unsupported("model", type)
        }
    }

    /// A `["token", id]` pair (BertProcessing, RobertaProcessing).
    static func tokenPair(_ value: JSONValue, ids: [String: Int], at path: String,
                          _ r: FieldReader) throws(TokenizerError) -> (id: Int, token: String) {
        let items = try r.array(value, at: path)
        guard items.count == 2 else { throw .invalidField(file: r.file, field: path, reason: "must be [token, id]") }
        return (try r.int(items[1], at: path), try r.string(items[0], at: path))
    }

    static func postProcessor(_ value: JSONValue, ids: [String: Int],
                              _ r: FieldReader) throws(TokenizerError) -> PostProcessor {
        let path = "post_processor"
        let type = try r.type(value, at: path)
        switch type {
        case "BertProcessing":
            return .bert(cls: try tokenPair(try r.required(value, "cls", at: path), ids: ids, at: "\(path).cls", r),
                         sep: try tokenPair(try r.required(value, "sep", at: path), ids: ids, at: "\(path).sep", r))
        case "RobertaProcessing":
            return .roberta(cls: try tokenPair(try r.required(value, "cls", at: path), ids: ids, at: "\(path).cls", r),
                            sep: try tokenPair(try r.required(value, "sep", at: path), ids: ids, at: "\(path).sep", r),
                            trimOffsets: try r.optionalBool(value, "trim_offsets", at: path, default: true),
                            addPrefixSpace: try r.optionalBool(value, "add_prefix_space", at: path, default: true))
        case "ByteLevel":
            return .byteLevel(trimOffsets: try r.optionalBool(value, "trim_offsets", at: path, default: true),
                              addPrefixSpace: try r.optionalBool(value, "add_prefix_space", at: path, default: true))
        case "TemplateProcessing":
            var specials: [String: ([Int], [String])] = [:]
            if let table = r.optional(value, "special_tokens") {
                guard case let .object(members) = table else {
                    throw .invalidField(file: r.file, field: "\(path).special_tokens", reason: "must be an object")
                }
                for (name, entry) in members {
                    let p = "\(path).special_tokens.\(name)"
                    let idList = try r.array(try r.required(entry, "ids", at: p), at: "\(p).ids")
                    let tokenList = try r.array(try r.required(entry, "tokens", at: p), at: "\(p).tokens")
                    var entryIds: [Int] = [], entryTokens: [String] = []
                    for v in idList { entryIds.append(try r.int(v, at: "\(p).ids")) }
                    for v in tokenList { entryTokens.append(try r.string(v, at: "\(p).tokens")) }
                    guard entryIds.count == entryTokens.count else {
                        throw .invalidField(file: r.file, field: p, reason: "has different numbers of ids and tokens")
                    }
                    specials[name] = (entryIds, entryTokens)
                }
            }
            func template(_ key: String) throws(TokenizerError) -> [TemplateItem] {
                var items: [TemplateItem] = []
                for (i, item) in try r.array(try r.required(value, key, at: path), at: "\(path).\(key)").enumerated() {
                    let p = "\(path).\(key)[\(i)]"
                    if let special = item["SpecialToken"] {
                        let name = try r.string(try r.required(special, "id", at: p), at: "\(p).id")
                        guard let (sids, stokens) = specials[name] else {
                            throw .unknownToken(file: r.file, field: "\(p).SpecialToken", token: name)
                        }
                        items.append(TemplateItem(kind: .special(ids: sids, tokens: stokens),
                                                  typeId: try r.int(try r.required(special, "type_id", at: p), at: "\(p).type_id")))
                    } else if let sequence = item["Sequence"] {
                        let name = try r.string(try r.required(sequence, "id", at: p), at: "\(p).id")
                        guard name == "A" || name == "B" else {
                            throw .invalidField(file: r.file, field: "\(p).Sequence.id", reason: "must be 'A' or 'B'")
                        }
                        items.append(TemplateItem(kind: .sequence(name == "A" ? 0 : 1),
                                                  typeId: try r.int(try r.required(sequence, "type_id", at: p), at: "\(p).type_id")))
                    } else {
                        throw .invalidField(file: r.file, field: p, reason: "must be a SpecialToken or a Sequence")
                    }
                }
                return items
            }
            return .template(single: try template("single"), pair: try template("pair"))
        default:
            throw r.unsupported("post_processor", type)
        }
    }

    static func decoder(_ value: JSONValue, _ r: FieldReader) throws(TokenizerError) -> TokenDecoder {
        let type = try r.type(value, at: "decoder")
        switch type {
        case "WordPiece":
            return .wordPiece(prefix: try r.optionalString(value, "prefix", at: "decoder") ?? "##",
                              cleanup: try r.optionalBool(value, "cleanup", at: "decoder", default: true))
        case "ByteLevel":
            return .byteLevel
        default:
            throw r.unsupported("decoder", type)
        }
    }

    static func truncation(_ value: JSONValue, _ r: FieldReader) throws(TokenizerError) -> Truncation {
        let path = "truncation"
        let maxLength = try r.int(try r.required(value, "max_length", at: path), at: "\(path).max_length")
        guard maxLength >= 0 else { throw .invalidField(file: r.file, field: "\(path).max_length", reason: "must not be negative") }
        let strategies: [String: Truncation.Strategy] = ["LongestFirst": .longestFirst, "OnlyFirst": .onlyFirst, "OnlySecond": .onlySecond]
        let name = try r.optionalString(value, "strategy", at: path) ?? "LongestFirst"
        guard let strategy = strategies[name] else {
            throw .unsupported(file: r.file, component: "truncation strategy", detail: "'\(name)'")
        }
        let direction = try r.optionalString(value, "direction", at: path) ?? "Right"
        guard direction == "Right" || direction == "Left" else {
            throw .invalidField(file: r.file, field: "\(path).direction", reason: "must be Right or Left")
        }
        return Truncation(maxLength: maxLength, strategy: strategy, direction: direction == "Left" ? .left : .right)
    }

    static func padding(_ value: JSONValue, _ r: FieldReader) throws(TokenizerError) -> Padding {
        let path = "padding"
        var padding = Padding()
        switch r.optional(value, "strategy") {
        case nil, .string("BatchLongest"): padding.length = .longest
        case let .some(strategy):
            guard let fixed = strategy["Fixed"] else {
                throw .invalidField(file: r.file, field: "\(path).strategy", reason: "must be BatchLongest or {Fixed: n}")
            }
            let length = try r.int(fixed, at: "\(path).strategy.Fixed")
            guard length >= 0 && length <= 1 << 24 else {
                throw .invalidField(file: r.file, field: "\(path).strategy.Fixed", reason: "has an impossible length \(length)")
            }
            padding.length = .fixed(length)
        }
        let direction = try r.optionalString(value, "direction", at: path) ?? "Right"
        guard direction == "Right" || direction == "Left" else {
            throw .invalidField(file: r.file, field: "\(path).direction", reason: "must be Right or Left")
        }
        padding.direction = direction == "Left" ? .left : .right
        padding.padToMultipleOf = try r.optional(value, "pad_to_multiple_of").map { v throws(TokenizerError) in try r.int(v, at: "\(path).pad_to_multiple_of") }
        if let m = padding.padToMultipleOf, m < 0 || m > 1 << 16 {
            throw .invalidField(file: r.file, field: "\(path).pad_to_multiple_of", reason: "has an impossible value \(m)")
        }
        padding.padId = try r.optional(value, "pad_id").map { v throws(TokenizerError) in try r.int(v, at: "\(path).pad_id") } ?? 0
        padding.padTypeId = try r.optional(value, "pad_type_id").map { v throws(TokenizerError) in try r.int(v, at: "\(path).pad_type_id") } ?? 0
        padding.padToken = try r.optionalString(value, "pad_token", at: path) ?? "[PAD]"
        return padding
    }
}
