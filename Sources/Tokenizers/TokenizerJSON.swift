// Loading Hugging Face's fast-tokenizer format (tokenizer.json) for the configurations BERT, RoBERTa and
// GPT-2 checkpoints use. Anything else is a `TokenizerError` that names the component.
import FoundationEssentials
import JSON

/// Reads a whole file.
func readFile(_ path: String) throws(TokenizerError) -> [UInt8] {
    do { return try RegularFile.read(path) } catch {
        throw .unreadableFile(path: path, reason: error.reason)
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
        let root = try JSONField(parsing: bytes, file: file)
        guard root.value.objectMembers != nil else { throw root.invalid("must be an object, got \(root.value.shortDescription)") }
        let addedTokens = try root.optional("added_tokens").map { v throws(TokenizerError) in try Tokenizer.addedTokens(v) } ?? []

        let (normalizer, steps) = try root.optional("normalizer").map { v throws(TokenizerError) in try Tokenizer.normalizer(v) } ?? (nil, [])
        let preTokenizer = try root.optional("pre_tokenizer").map { v throws(TokenizerError) in try Tokenizer.preTokenizer(v) } ?? PreTokenizer.none
        let (model, vocabulary) = try Tokenizer.model(try root.field("model"), preTokenizer: preTokenizer)
        var ids = vocabulary
        for token in addedTokens { ids[token.content] = token.id }
        let postProcessor = try root.optional("post_processor").map { v throws(TokenizerError) in try Tokenizer.postProcessor(v, ids: ids) } ?? PostProcessor.none
        let decoder = try root.optional("decoder").map { v throws(TokenizerError) in try Tokenizer.decoder(v) } ?? TokenDecoder.none
        let core = TokenizerCore(normalizer: normalizer, preTokenizer: preTokenizer, model: model,
                                 vocabulary: vocabulary, addedTokens: addedTokens, postProcessor: postProcessor,
                                 decoder: decoder, steps: steps)
        self.init(core: core,
                  truncation: try root.optional("truncation").map { v throws(TokenizerError) in try Tokenizer.truncation(v) },
                  padding: try root.optional("padding").map { v throws(TokenizerError) in try Tokenizer.padding(v) })
    }

    static func addedTokens(_ value: JSONField) throws(TokenizerError) -> [AddedToken] {
        var tokens: [AddedToken] = []
        for item in try value.array() {
            let idField = try item.field("id")
            let id = try idField.int()
            guard id >= 0 && id < 10_000_000 else { throw idField.invalid("has an impossible id \(id)") }
            tokens.append(AddedToken(
                content: try item.field("content").string(), id: id,
                special: try item.optionalBool("special", default: false),
                lstrip: try item.optionalBool("lstrip", default: false),
                rstrip: try item.optionalBool("rstrip", default: false),
                singleWord: try item.optionalBool("single_word", default: false),
                normalized: try item.optionalBool("normalized", default: true)))
        }
        return tokens
    }

    /// A normalizer: BertNormalizer alone or first in a Sequence, then the steps.
    static func normalizer(_ value: JSONField) throws(TokenizerError) -> (BertNormalizer?, [NormalizerStep]) {
        let type = try value.type()
        switch type {
        case "BertNormalizer":
            let lowercase = try value.optionalBool("lowercase", default: true)
            return (BertNormalizer(
                cleanText: try value.optionalBool("clean_text", default: true),
                handleChineseChars: try value.optionalBool("handle_chinese_chars", default: true),
                stripAccents: try value.optionalBool("strip_accents", default: lowercase),
                lowercase: lowercase), [])
        case "Sequence":
            var bert: BertNormalizer? = nil
            var steps: [NormalizerStep] = []
            for (i, item) in try value.field("normalizers").array().enumerated() {
                let (b, s) = try normalizer(item)
                if let b {
                    guard i == 0 else {
                        throw .unsupported(file: value.file, component: "normalizer type", detail: "'BertNormalizer' after another normalizer")
                    }
                    bert = b
                }
                steps += s
            }
            return (bert, steps)
        case "Precompiled":
            guard let field = try value.optional("precompiled_charsmap") else { return (nil, []) }
            let text = try field.string()
            guard let data = Data(base64Encoded: text) else { throw field.invalid("is not base64") }
            let charsmap = try PrecompiledCharsmap([UInt8](data), file: value.file, field: field.field)
            return (nil, charsmap.isEmpty ? [] : [.precompiled(charsmap)])
        case "Strip":
            return (nil, [.strip(left: try value.optionalBool("strip_left", default: true),
                                 right: try value.optionalBool("strip_right", default: true))])
        case "Lowercase":
            return (nil, [.lowercase])
        case "NFD": return (nil, [.unicode(.nfd)])
        case "NFKD": return (nil, [.unicode(.nfkd)])
        case "NFC": return (nil, [.unicode(.nfc)])
        case "NFKC": return (nil, [.unicode(.nfkc)])
        case "StripAccents": return (nil, [.stripAccents])
        case "Prepend":
            return (nil, [.prepend(Array(try value.field("prepend").string().utf8))])
        case "Replace":
            return (nil, [.replace(try replacePattern(try value.field("pattern")),
                                   content: Array(try value.field("content").string().utf8))])
        default:
            throw value.unsupported("normalizer", type)
        }
    }

    /// A Replace pattern: `{"String": s}`, or `{"Regex": r}` for `c{n,}` and `c+` with `c` one ASCII character.
    static func replacePattern(_ value: JSONField) throws(TokenizerError) -> ReplacePattern {
        if let string = try value.optional("String") { return .literal(Array(try string.string().utf8)) }
        guard let regexField = try value.optional("Regex") else { throw value.invalid("must be {String: …} or {Regex: …}") }
        let regex = Array(try regexField.string().utf8)
        if regex.count >= 2, regex[0] < 0x80, !Array("\\.[](){}|*+?^$".utf8).contains(regex[0]) {
            let rest = String(decoding: regex[1...], as: UTF8.self)
            if rest == "+" { return .repeated(regex[0], minimum: 1) }
            if rest.hasPrefix("{"), rest.hasSuffix(",}"), let n = Int(rest.dropFirst().dropLast(2)), n >= 1 {
                return .repeated(regex[0], minimum: n)
            }
        }
        throw .unsupported(file: value.file, component: "Replace regex", detail: "'\(String(decoding: regex, as: UTF8.self))'")
    }

    static func preTokenizer(_ value: JSONField) throws(TokenizerError) -> PreTokenizer {
        let type = try value.type()
        switch type {
        case "BertPreTokenizer":
            return .bert
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try value.optionalBool("add_prefix_space", default: true),
                              useRegex: try value.optionalBool("use_regex", default: true))
        case "Metaspace":
            let (replacement, scheme) = try metaspace(value)
            return .metaspace(replacement: Array(String(replacement).utf8), prepend: scheme,
                              split: try value.optionalBool("split", default: true), afterWhitespaceSplit: false)
        case "WhitespaceSplit":
            return .whitespaceSplit
        case "Split":
            return .split(try splitRule(value), byteLevel: false)
        case "Sequence":
            let items = try value.field("pretokenizers").array()
            let parts = try items.map { item throws(TokenizerError) in try preTokenizer(item) }
            switch parts.count {
            case 1: return parts[0]
            case 2:
                if parts[0] == .whitespaceSplit, case let .metaspace(r, p, s, false) = parts[1] {
                    return .metaspace(replacement: r, prepend: p, split: s, afterWhitespaceSplit: true)
                }
                if case let .split(rule, false) = parts[0], parts[1] == .byteLevel(addPrefixSpace: false, useRegex: false) {
                    return .split(rule, byteLevel: true)
                }
            default: break
            }
            throw .unsupported(file: value.file, component: "pre_tokenizer type", detail: "'Sequence' other than [WhitespaceSplit, Metaspace] or [Split, ByteLevel without add_prefix_space and use_regex]")
        default:
            throw value.unsupported("pre_tokenizer", type)
        }
    }

    /// A Split pre-tokenizer: `pattern` `{String: s}` or one of the regexes `SplitRule` implements,
    /// `behavior` and `invert`.
    static func splitRule(_ value: JSONField) throws(TokenizerError) -> SplitRule {
        let patternField = try value.field("pattern")
        let pattern: SplitRule.Pattern
        if let string = try patternField.optional("String") {
            pattern = .literal(Array(try string.string().utf8))
        } else if let regexField = try patternField.optional("Regex") {
            let regex = try regexField.string()
            guard let known = SplitRule.knownRegexes[regex] else {
                throw .unsupported(file: value.file, component: "Split regex",
                                   detail: "'\(regex)' (supported: the GPT-4-style patterns of Qwen2 and Llama 3)")
            }
            pattern = known
        } else {
            throw patternField.invalid("must be {String: …} or {Regex: …}")
        }
        let behaviorField = try value.field("behavior")
        let name = try behaviorField.string()
        guard let behavior = SplitRule.Behavior(rawValue: name) else {
            throw behaviorField.invalid("is '\(name)'; expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous")
        }
        return SplitRule(pattern: pattern, behavior: behavior, invert: try value.optionalBool("invert", default: false))
    }

    /// Metaspace's replacement character and prepend scheme (older files: `add_prefix_space`).
    static func metaspace(_ value: JSONField) throws(TokenizerError) -> (Character, PrependScheme) {
        let field = try value.field("replacement")
        let text = try field.string()
        guard text.count == 1, let replacement = text.first else { throw field.invalid("must be one character") }
        if let scheme = try value.optional("prepend_scheme") {
            switch try scheme.string() {
            case "always": return (replacement, .always)
            case "first": return (replacement, .first)
            case "never": return (replacement, .never)
            default: throw scheme.invalid("must be always, first or never")
            }
        }
        return (replacement, try value.optionalBool("add_prefix_space", default: true) ? .always : .never)
    }

    static func model(_ value: JSONField, preTokenizer: PreTokenizer) throws(TokenizerError) -> (TokenModel, [String: Int]) {
        guard value.value.objectMembers != nil else { throw value.invalid("must be an object, got \(value.value.shortDescription)") }
        let file = value.file
        let type: String
        if let t = try value.optional("type") {
            type = try t.string()
        } else if value.value["merges"] != nil {
            type = "BPE"
        } else if value.value["unk_id"] != nil {
            type = "Unigram"
        } else if value.value["continuing_subword_prefix"] != nil && value.value["max_input_chars_per_word"] != nil {
            type = "WordPiece"
        } else {
            throw .missingField(file: file, field: "model.type")
        }
        if type == "Unigram" {
            let list = try value.field("vocab")
            guard let items = list.value.arrayValue else { throw list.invalid("must be an array of [piece, score], got \(list.value.shortDescription)") }
            var pieces: [(String, Double)] = []
            pieces.reserveCapacity(items.count)
            var vocabulary: [String: Int] = [:]
            for (i, item) in items.enumerated() {
                guard case let .array(pair) = item, pair.count == 2, case let .string(piece) = pair[0],
                      let score = pair[1].doubleValue else {
                    throw .invalidField(file: file, field: "model.vocab[\(i)]", reason: "must be [piece, score]")
                }
                pieces.append((piece, score))
                if vocabulary[piece] == nil { vocabulary[piece] = i }
            }
            let unknownId = try value.optionalInt("unk_id")
            let model = try Unigram(pieces: pieces, unknownId: unknownId,
                                    byteFallback: try value.optionalBool("byte_fallback", default: false), file: file)
            return (.unigram(model), vocabulary)
        }
        let vocabulary = try value.field("vocab").vocabulary()
        switch type {
        case "WordPiece":
            if case .byteLevel = preTokenizer {
                throw .unsupported(file: file, component: "model WordPiece", detail: "with a ByteLevel pre_tokenizer")
            }
            let model = try WordPiece(
                vocabulary: vocabulary,
                unknownToken: try value.optionalString("unk_token") ?? "[UNK]",
                continuationPrefix: try value.optionalString("continuing_subword_prefix") ?? "##",
                maxInputCharsPerWord: try value.optionalInt("max_input_chars_per_word") ?? 100, file: file)
            return (.wordPiece(model), vocabulary)
        case "BPE":
            var byteLevel = false
            switch preTokenizer {
            case .byteLevel: byteLevel = true
            case let .split(_, afterByteLevel): byteLevel = afterByteLevel
            case .metaspace, .none, .whitespaceSplit: break
            case .bert: throw .unsupported(file: file, component: "model BPE", detail: "with a BertPreTokenizer")
            }
            if let p = try value.optional("dropout")?.value.doubleValue, p > 0 {
                throw .unsupported(file: file, component: "model BPE", detail: "dropout \(p)")
            }
            for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
                if let s = try value.optionalString(key), !s.isEmpty {
                    throw .unsupported(file: file, component: "model BPE", detail: "\(key) '\(s)'")
                }
            }
            let byteFallback = try value.optionalBool("byte_fallback", default: false)
            let fuseUnknown = try value.optionalBool("fuse_unk", default: false)
            if byteLevel && (byteFallback || fuseUnknown) {
                throw .unsupported(file: file, component: "model BPE", detail: "byte_fallback or fuse_unk with a ByteLevel pre_tokenizer")
            }
            let list = try value.field("merges")
            guard let items = list.value.arrayValue else { throw list.invalid("must be an array, got \(list.value.shortDescription)") }
            var merges: [(String, String)] = []
            merges.reserveCapacity(items.count)
            // Merges are read without a reader each (GPT-2 has 50,000); a bad one is named by its path.
            for (i, item) in items.enumerated() {
                switch item {
                case let .string(s):
                    let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                    guard parts.count == 2 else {
                        throw .invalidField(file: file, field: "model.merges[\(i)]", reason: "must be two tokens separated by one space")
                    }
                    merges.append((String(parts[0]), String(parts[1])))
                case let .array(pair) where pair.count == 2:
                    let element = JSONField(JSONReader(item, file: file, path: list.reader.path.appending(index: i)))
                    let tokens = try element.array()
                    merges.append((try tokens[0].string(), try tokens[1].string()))
                default:
                    throw .invalidField(file: file, field: "model.merges[\(i)]", reason: "must be a pair of tokens")
                }
            }
            let model = try ByteLevelBPE(
                vocabulary: vocabulary, merges: merges,
                unknownToken: try value.optionalString("unk_token"),
                ignoreMerges: try value.optionalBool("ignore_merges", default: false), byteLevel: byteLevel,
                byteFallback: byteFallback, fuseUnknown: fuseUnknown, file: file)
            return (.bpe(model), vocabulary)
        default:
            throw value.unsupported("model", type)
        }
    }

    /// A `["token", id]` pair (BertProcessing, RobertaProcessing).
    static func tokenPair(_ value: JSONField, ids: [String: Int]) throws(TokenizerError) -> (id: Int, token: String) {
        let items = try value.array()
        guard items.count == 2 else { throw value.invalid("must be [token, id]") }
        return (try items[1].int(), try items[0].string())
    }

    static func postProcessor(_ value: JSONField, ids: [String: Int]) throws(TokenizerError) -> PostProcessor {
        let type = try value.type()
        switch type {
        case "BertProcessing":
            return .bert(cls: try tokenPair(try value.field("cls"), ids: ids),
                         sep: try tokenPair(try value.field("sep"), ids: ids))
        case "RobertaProcessing":
            return .roberta(cls: try tokenPair(try value.field("cls"), ids: ids),
                            sep: try tokenPair(try value.field("sep"), ids: ids),
                            trimOffsets: try value.optionalBool("trim_offsets", default: true),
                            addPrefixSpace: try value.optionalBool("add_prefix_space", default: true))
        case "ByteLevel":
            return .byteLevel(trimOffsets: try value.optionalBool("trim_offsets", default: true),
                              addPrefixSpace: try value.optionalBool("add_prefix_space", default: true))
        case "TemplateProcessing":
            var specials: [String: ([Int], [String])] = [:]
            if let table = try value.optional("special_tokens") {
                for (name, entry) in try table.members() {
                    var entryIds: [Int] = [], entryTokens: [String] = []
                    for v in try entry.field("ids").array() { entryIds.append(try v.int()) }
                    for v in try entry.field("tokens").array() { entryTokens.append(try v.string()) }
                    guard entryIds.count == entryTokens.count else { throw entry.invalid("has different numbers of ids and tokens") }
                    specials[name] = (entryIds, entryTokens)
                }
            }
            func template(_ key: String) throws(TokenizerError) -> [TemplateItem] {
                var items: [TemplateItem] = []
                for item in try value.field(key).array() {
                    if let special = try item.optional("SpecialToken") {
                        let name = try special.field("id").string()
                        guard let (sids, stokens) = specials[name] else {
                            throw .unknownToken(file: item.file, field: special.field, token: name)
                        }
                        items.append(TemplateItem(kind: .special(ids: sids, tokens: stokens), typeId: try special.field("type_id").int()))
                    } else if let sequence = try item.optional("Sequence") {
                        let id = try sequence.field("id")
                        let name = try id.string()
                        guard name == "A" || name == "B" else { throw id.invalid("must be 'A' or 'B'") }
                        items.append(TemplateItem(kind: .sequence(name == "A" ? 0 : 1), typeId: try sequence.field("type_id").int()))
                    } else {
                        throw item.invalid("must be a SpecialToken or a Sequence")
                    }
                }
                return items
            }
            return .template(single: try template("single"), pair: try template("pair"))
        default:
            throw value.unsupported("post_processor", type)
        }
    }

    static func decoder(_ value: JSONField) throws(TokenizerError) -> TokenDecoder {
        let type = try value.type()
        switch type {
        case "WordPiece":
            return .wordPiece(prefix: try value.optionalString("prefix") ?? "##",
                              cleanup: try value.optionalBool("cleanup", default: true))
        case "ByteLevel":
            return .byteLevel
        case "Sequence":
            var steps: [DecodeStep] = []
            for item in try value.field("decoders").array() {
                guard case let .chain(inner) = try decoder(item) else {
                    throw .unsupported(file: value.file, component: "decoder type", detail: "'\(try item.type())' inside a Sequence")
                }
                steps += inner
            }
            return .chain(steps)
        case "Metaspace":
            let (replacement, scheme) = try metaspace(value)
            return .chain([.metaspace(replacement: replacement, prependScheme: scheme)])
        case "Replace":
            guard case let .literal(pattern) = try replacePattern(try value.field("pattern")) else {
                throw .unsupported(file: value.file, component: "decoder Replace", detail: "with a regex")
            }
            return .chain([.replace(pattern: String(decoding: pattern, as: UTF8.self), content: try value.field("content").string())])
        case "ByteFallback":
            return .chain([.byteFallback])
        case "Fuse":
            return .chain([.fuse])
        case "Strip":
            let field = try value.field("content")
            let content = try field.string()
            guard content.count == 1, let c = content.first else { throw field.invalid("must be one character") }
            return .chain([.strip(content: c, start: try value.optionalInt("start") ?? 0, stop: try value.optionalInt("stop") ?? 0)])
        default:
            throw value.unsupported("decoder", type)
        }
    }

    static func truncation(_ value: JSONField) throws(TokenizerError) -> Truncation {
        let maxLengthField = try value.field("max_length")
        let maxLength = try maxLengthField.int()
        guard maxLength >= 0 else { throw maxLengthField.invalid("must not be negative") }
        let strategies: [String: Truncation.Strategy] = ["LongestFirst": .longestFirst, "OnlyFirst": .onlyFirst, "OnlySecond": .onlySecond]
        let name = try value.optionalString("strategy") ?? "LongestFirst"
        guard let strategy = strategies[name] else {
            throw .unsupported(file: value.file, component: "truncation strategy", detail: "'\(name)'")
        }
        let direction = try value.optionalString("direction") ?? "Right"
        guard direction == "Right" || direction == "Left" else {
            throw .invalidField(file: value.file, field: "truncation.direction", reason: "must be Right or Left")
        }
        return Truncation(maxLength: maxLength, strategy: strategy, direction: direction == "Left" ? .left : .right)
    }

    static func padding(_ value: JSONField) throws(TokenizerError) -> Padding {
        var padding = Padding()
        switch try value.optional("strategy") {
        case nil: padding.length = .longest
        case let .some(strategy) where strategy.value == .string("BatchLongest"): padding.length = .longest
        case let .some(strategy):
            guard strategy.value.objectMembers != nil, let fixed = try strategy.optional("Fixed") else {
                throw strategy.invalid("must be BatchLongest or {Fixed: n}")
            }
            let length = try fixed.int()
            guard length >= 0 && length <= 1 << 24 else { throw fixed.invalid("has an impossible length \(length)") }
            padding.length = .fixed(length)
        }
        let direction = try value.optionalString("direction") ?? "Right"
        guard direction == "Right" || direction == "Left" else {
            throw .invalidField(file: value.file, field: "padding.direction", reason: "must be Right or Left")
        }
        padding.direction = direction == "Left" ? .left : .right
        padding.padToMultipleOf = try value.optionalInt("pad_to_multiple_of")
        if let m = padding.padToMultipleOf, m < 0 || m > 1 << 16 {
            throw .invalidField(file: value.file, field: "padding.pad_to_multiple_of", reason: "has an impossible value \(m)")
        }
        padding.padId = try value.optionalInt("pad_id") ?? 0
        padding.padTypeId = try value.optionalInt("pad_type_id") ?? 0
        padding.padToken = try value.optionalString("pad_token") ?? "[PAD]"
        return padding
    }
}
