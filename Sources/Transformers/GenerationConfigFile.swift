import Foundation
import JSON

/// A checkpoint's generation defaults, read as `transformers.GenerationConfig.from_pretrained` and
/// `model.generate` take them: `generation_config.json` when the directory has one, else the
/// generation fields of `config.json` (`GenerationConfig.from_model_config`, for checkpoints saved
/// before the file existed). A field that is absent or `null` keeps the default; fields generation
/// does not use (`transformers_version`, `_from_model_config`, `bos_token_id`, …) are ignored as
/// Hugging Face ignores them; a used field of the wrong type is an error naming the file and field.
///
/// ```swift
/// var config = try GenerationConfig(checkpoint: url)   // the checkpoint's defaults
/// config.setMaxNewTokens(32)                            // a caller's override
/// ```
extension GenerationConfig {
    /// The file name Hugging Face saves generation defaults in.
    public static let fileName = "generation_config.json"

    /// The defaults of the checkpoint at `directory`: `generation_config.json` over Hugging Face's
    /// defaults, else `config.json`'s generation fields; neither file: `GenerationConfig()`.
    public init(checkpoint directory: URL) throws(TransformersError) {
        self.init()
        let own = directory.appendingPathComponent(Self.fileName)
        let model = directory.appendingPathComponent("config.json")
        if FileManager.default.fileExists(atPath: own.path) {
            try apply(file: own.path)
        } else if FileManager.default.fileExists(atPath: model.path) {
            try apply(file: model.path)
        }
    }

    /// Sets every generation field `path` (a generation_config.json or config.json) gives.
    public mutating func apply(file path: String) throws(TransformersError) {
        do { try apply(try JSONReader(contentsOf: path).object()) } catch {
            throw .invalidConfigField(file: path, field: error.field, reason: error.reason)
        }
        do { try validate() } catch {
            if case .invalidInput(let argument, let reason) = error {
                throw .invalidConfigField(file: path, field: argument, reason: reason)
            }
            throw error
        }
    }

    private mutating func apply(_ root: JSONReader) throws(JSONError) {
        func int(_ key: String) throws(JSONError) -> Int? { try root.optionalInt(key) }
        func float(_ key: String) throws(JSONError) -> Float? {
            guard let value = try root.optionalDouble(key) else { return nil }
            guard value.isFinite, abs(value) <= Double(Float.greatestFiniteMagnitude) else {
                throw root.error(at: key, "must be a finite float, got \(value)")
            }
            return Float(value)
        }
        /// One id or a list of ids (`eos_token_id`, `forced_eos_token_id`).
        func ids(_ key: String) throws(JSONError) -> [Int]? {
            guard let field = try root.optionalField(key) else { return nil }
            if case .array = field.value {
                let list = try field.array().map { item throws(JSONError) in try item.int() }
                guard !list.isEmpty else { throw root.error(at: key, "must be a token id or a non-empty list of ids, got []") }
                return list
            }
            guard (try? field.int()) != nil else { throw field.error("must be a token id or a list of ids, got \(field.value.shortDescription)") }
            return [try field.int()]
        }
        if let n = try int("max_new_tokens") {
            maxNewTokens = n
            maxLength = nil
        } else if let n = try int("max_length") {
            maxLength = n
        }
        if let n = try int("min_new_tokens") { minNewTokens = n }
        if let n = try int("min_length") { minLength = n }
        if let b = try root.optionalBool("do_sample") { doSample = b }
        if let t = try float("temperature") { temperature = t }
        if let k = try int("top_k") { topK = k }
        if let p = try float("top_p") { topP = p }
        if let n = try int("num_beams") { numBeams = n }
        if let p = try float("length_penalty") { lengthPenalty = p }
        if let field = try root.optionalField("early_stopping") {
            if case .string = field.value {
                guard try field.string() == "never" else { throw field.error("must be true, false or \"never\", got \(field.value.shortDescription)") }
                earlyStopping = .never
            } else {
                guard (try? field.bool()) != nil else { throw field.error("must be true, false or \"never\", got \(field.value.shortDescription)") }
                earlyStopping = try field.bool() ? .whenFull : .heuristic
            }
        }
        if let n = try int("num_return_sequences") { numReturnSequences = n }
        if let n = try int("no_repeat_ngram_size") { noRepeatNgramSize = n }
        if let p = try float("repetition_penalty") { repetitionPenalty = p }
        if let list = try root.optionalArray(at: "bad_words_ids") {
            badWordsIds = try list.map { words throws(JSONError) in try words.array().map { item throws(JSONError) in try item.int() } }
        }
        if let id = try int("forced_bos_token_id") { forcedBosTokenId = id }
        if let list = try ids("forced_eos_token_id") { forcedEosTokenIds = list }
        if let list = try ids("eos_token_id") { eosTokenIds = list }
        if let id = try int("pad_token_id") { padTokenId = id }
        if let id = try int("decoder_start_token_id") { decoderStartTokenId = id }
        if let b = try root.optionalBool("use_cache") { useCache = b }
    }
}
