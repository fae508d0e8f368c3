import Foundation
import JSON

/// The fields every Hugging Face config shares (`PretrainedConfig`): labels, special tokens and tying,
/// decoded with the same defaults as `transformers`.
public struct CommonConfig: Codable, Sendable, Equatable {
    /// `architectures`: the classes the checkpoint was saved from, e.g. `["BertForMaskedLM"]`.
    public var architectures: [String]?
    /// `id2label`: class names by index (keys are decimal strings in config.json).
    public var id2label: [String: String]?
    /// `label2id`: the inverse of `id2label`.
    public var label2id: [String: Int]?
    /// `num_labels`: output classes of a classification head; `id2label`'s size when that is given.
    public var numLabels: Int
    /// `problem_type`: `regression`, `single_label_classification` or `multi_label_classification`.
    public var problemType: String?
    /// `tie_word_embeddings`: whether output embeddings share the input embedding matrix.
    public var tieWordEmbeddings: Bool
    /// `pad_token_id`.
    public var padTokenId: Int?
    /// `bos_token_id`.
    public var bosTokenId: Int?
    /// `eos_token_id` (one id or several).
    public var eosTokenIds: [Int]?

    enum CodingKeys: String, CodingKey {
        case architectures, id2label, label2id
        case numLabels = "num_labels", problemType = "problem_type", tieWordEmbeddings = "tie_word_embeddings"
        case padTokenId = "pad_token_id", bosTokenId = "bos_token_id", eosTokenIds = "eos_token_id"
    }

    /// Defaults as `PretrainedConfig` has them, with the architecture's special tokens.
    public init(padTokenId: Int? = nil, bosTokenId: Int? = nil, eosTokenIds: [Int]? = nil) {
        numLabels = 2
        tieWordEmbeddings = true
        self.padTokenId = padTokenId
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
    }

    /// Decodes the shared fields of `decoder`, using `defaults` for absent or null ones.
    public init(from decoder: Decoder, defaults: CommonConfig) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
        id2label = try c.decodeIfPresent([String: String].self, forKey: .id2label)
        label2id = try c.decodeIfPresent([String: Int].self, forKey: .label2id)
        numLabels = try id2label?.count ?? c.decodeIfPresent(Int.self, forKey: .numLabels) ?? defaults.numLabels
        problemType = try c.decodeIfPresent(String.self, forKey: .problemType)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? defaults.tieWordEmbeddings
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? (c.contains(.padTokenId) ? nil : defaults.padTokenId)
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId) ?? (c.contains(.bosTokenId) ? nil : defaults.bosTokenId)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .eosTokenIds) {
            eosTokenIds = [one]
        } else if let many = try c.decodeIfPresent([Int].self, forKey: .eosTokenIds) {
            eosTokenIds = many
        } else {
            eosTokenIds = c.contains(.eosTokenIds) ? nil : defaults.eosTokenIds
        }
    }

    public init(from decoder: Decoder) throws { try self.init(from: decoder, defaults: CommonConfig()) }

    /// Class names in index order (`LABEL_i` where `id2label` says nothing).
    public var labels: [String] {
        // Keys as Python reads them (`int(key)`; `validate` made them distinct and 0 ..< count).
        var byID: [Int: String] = [:]
        for (key, value) in id2label ?? [:] { if let id = Int(key.trimmingCharacters(in: .whitespaces)) { byID[id] = value } }
        return (0..<numLabels).map { byID[$0] ?? "LABEL_\($0)" }
    }

    /// Checks the label and problem-type fields.
    func validate(file: String) throws(TransformersError) {
        guard numLabels >= 1 else { throw .invalidConfigField(file: file, field: "num_labels", reason: "must be at least 1, got \(numLabels)") }
        guard numLabels <= 1 << 24 else { throw .invalidConfigField(file: file, field: "num_labels", reason: "(\(numLabels)) is more than 2^24 classes") }
        if let id2label {
            // Python reads the keys with int(): "1" and "01" are the same class, and the one listed
            // last silently wins there. Here a class named twice is an error, and the classes must be
            // 0 ..< count, as the head's outputs are.
            var seen: [Int: String] = [:]
            for key in id2label.keys.sorted() {
                guard let id = Int(key.trimmingCharacters(in: .whitespaces)) else {
                    throw .invalidConfigField(file: file, field: "id2label", reason: "has the key '\(key)', which is not an integer")
                }
                if let other = seen[id] {
                    throw .invalidConfigField(file: file, field: "id2label", reason: "has the keys '\(other)' and '\(key)', both class \(id)")
                }
                guard id >= 0 && id < id2label.count else {
                    throw .invalidConfigField(file: file, field: "id2label", reason: "has the key '\(key)'; with \(id2label.count) labels the classes are 0...\(id2label.count - 1)")
                }
                seen[id] = key
            }
        }
        let problems = ["regression", "single_label_classification", "multi_label_classification"]
        if let problemType, !problems.contains(problemType) {
            throw .invalidConfigField(file: file, field: "problem_type", reason: "is '\(problemType)'; supported: \(problems)")
        }
    }
}

/// A Hugging Face config decoded from `config.json`.
public protocol PretrainedConfig: Codable, Sendable {
    /// The `model_type` values this config describes (`bert`, `roberta`, `gpt2`).
    static var modelTypes: [String] { get }
    /// Checks values the decoder cannot (supported activations, sizes that must divide).
    func validate(file: String) throws(TransformersError)
    /// The longest sequence the model's position table allows (what `--max-seq` may not exceed).
    var maxSequenceLength: Int { get }
}

extension PretrainedConfig {
    /// Decodes and validates `config.json` data with the hardened JSON parser; every failure names
    /// the field at fault (`config.json: field 'hidden_size' must be an integer, got "abc"`).
    public static func decode(_ data: Data, file: String = "config.json") throws(TransformersError) -> Self {
        let root: JSONReader
        do { root = try JSONReader(parsing: [UInt8](data), file: file) } catch {
            throw .invalidConfigField(file: file, field: error.field, reason: error.kind == .syntax ? "is not valid JSON: \(error.reason)" : error.reason)
        }
        guard root.value.objectMembers != nil else {
            throw .invalidConfigField(file: file, field: "(document)", reason: "is not a JSON object")
        }
        guard let type = root.value["model_type"] else { throw .missingConfigField(file: file, field: "model_type") }
        guard let name = type.stringValue, modelTypes.contains(name) else {
            throw .invalidConfigField(file: file, field: "model_type", reason: "is \(type.shortDescription); expected one of \(modelTypes)")
        }
        let config: Self
        do { config = try root.decode(Self.self) } catch { throw Self.describe(error) }
        try config.validate(file: file)
        return config
    }

    /// Reads and decodes `url`.
    public static func load(from url: URL) throws(TransformersError) -> Self {
        let data: [UInt8]
        do { data = try RegularFile.read(url.path) } catch {
            if error.missing { throw .missingFile(path: url.path) }
            throw .invalidInput(argument: url.path, reason: error.reason)
        }
        return try decode(Data(data), file: url.path)
    }

    /// A decoding failure as this module's error.
    static func describe(_ error: JSONError) -> TransformersError {
        switch error.kind {
        case .missing: .missingConfigField(file: error.file, field: error.field)
        case .unreadable, .syntax, .duplicateKey, .invalid: .invalidConfigField(file: error.file, field: error.field, reason: error.reason)
        }
    }
}

/// Throws unless `value` is positive, naming `field`.
func requirePositive(_ value: Int, _ field: String, file: String) throws(TransformersError) {
    guard value > 0 else { throw .invalidConfigField(file: file, field: field, reason: "must be positive, got \(value)") }
}

/// The size bounds every config is checked against before a model is built, as task-local values.
/// The defaults bound what any config may describe; a program that builds models from untrusted
/// configs in little memory (a fuzzer, a server) lowers them around the load, and a config beyond
/// them is then the same typed error naming the sizes:
///
/// ```swift
/// try ConfigLimits.$maximumParameterCount.withValue(1 << 22) { try ModelExport.load(directory: url, task: nil) }
/// ```
public enum ConfigLimits {
    /// The most parameters a config may describe: 2^36 floats (256 GiB) is far beyond any model this
    /// library loads, and keeps every size product the model builder computes far from Int overflow.
    /// A value above the default is clamped to it.
    @TaskLocal public static var maximumParameterCount = 1 << 36
    /// The most layers a config may describe: 10× the deepest model here (GPT-2 XL, 48), so that a
    /// traced graph stays within the 1,000,000 nodes a graph file may hold (larger values are clamped).
    @TaskLocal public static var maximumLayerCount = 1024
}

/// The parameter bound in force (`ConfigLimits`, never above 2^36).
var maximumParameterCount: Int { min(ConfigLimits.maximumParameterCount, 1 << 36) }

/// The layer bound in force (`ConfigLimits`, never above 1,024).
var maximumLayerCount: Int { min(ConfigLimits.maximumLayerCount, 1024) }

/// The parameter bound as error messages write it: `2^36`, or the number when it is not a power of 2.
var maximumParameterCountDescription: String {
    let limit = maximumParameterCount
    return limit > 0 && limit & (limit - 1) == 0 ? "2^\(limit.trailingZeroBitCount)" : "\(limit)"
}

/// Throws unless the parameter count estimated from the sizes (embedding `tables` rows of `width`,
/// plus attention and feed-forward weights in each of `layers` layers) stays below
/// `maximumParameterCount`, computed without overflow whatever the sizes are.
func requireBuildable(tables: [Int], width: Int, layers: Int, inner: Int, file: String) throws(TransformersError) {
    let limit = maximumParameterCount
    func product(_ values: [Int]) -> Int? {
        var p = 1
        for v in values {
            let (r, overflow) = p.multipliedReportingOverflow(by: v)
            if overflow || r > limit { return nil }
            p = r
        }
        return p
    }
    func sum(_ values: [Int?]) -> Int? {
        var total = 0
        for v in values {
            guard let v, v <= limit - total else { return nil }
            total += v
        }
        return total
    }
    let rows = sum(tables)
    let perLayer = sum([product([4, width, width]), product([2, width, inner])])
    guard let rows, let perLayer, sum([product([rows, width]), product([layers, perLayer])]) != nil else {
        throw .invalidConfigField(file: file, field: "(sizes)",
                                  reason: "describe more than \(maximumParameterCountDescription) parameters (tables \(tables), width \(width), layers \(layers), inner \(inner))")
    }
    // Tiny layers pass the parameter bound in any number: 10^9 layers of width 1 are 6 × 10^9
    // parameters, and a graph of 10^10 nodes that tracing would never finish.
    guard layers <= maximumLayerCount else {
        throw .invalidConfigField(file: file, field: "(sizes)", reason: "describe \(layers) layers, more than the \(maximumLayerCount) a model may have")
    }
}

/// Throws unless `value` is a dropout probability in [0, 1), naming `field`.
func requireProbability(_ value: Float, _ field: String, file: String) throws(TransformersError) {
    guard value >= 0 && value < 1 else {
        throw .invalidConfigField(file: file, field: field, reason: "must be in [0, 1), got \(value)")
    }
}

/// The activations configs may name, as NN's `activation(named:)` supports them.
let supportedActivations = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "tanh", "sigmoid", "silu", "swish"]

/// Throws unless NN has the activation `name`, naming `field`.
func requireActivation(_ name: String, _ field: String, file: String) throws(TransformersError) {
    guard supportedActivations.contains(name) else {
        throw .invalidConfigField(file: file, field: field, reason: "names activation '\(name)', which is not supported; supported: \(supportedActivations)")
    }
}
