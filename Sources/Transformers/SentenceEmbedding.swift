import Foundation
import JSON
import NN
import Tensors

// sentence-transformers' `Transformer → Pooling → Normalize` stack (`sentence_transformers/models/
// Pooling.py`, `Normalize.py`), read from a model directory's `modules.json` and traced whole, so a
// compiled model's `sentence_embedding` is what `SentenceTransformer.encode` returns.

/// How token states become one vector per text: `1_Pooling/config.json`, in both spellings
/// sentence-transformers writes (`"pooling_mode": "mean"` or a list of modes, and the older
/// `pooling_mode_*_tokens` booleans).
public struct PoolingConfig: Sendable, Equatable, Decodable {
    /// A pooling mode, by sentence-transformers' name.
    public enum Mode: String, Sendable, CaseIterable {
        /// The first real token's state.
        case cls
        /// The maximum over real tokens.
        case max
        /// The mean over real tokens.
        case mean
        /// The sum over real tokens divided by √count.
        case meanSqrtLenTokens = "mean_sqrt_len_tokens"
    }

    /// The modes, in the order their vectors are concatenated.
    public var modes: [Mode]

    public init(modes: [Mode]) { self.modes = modes }

    enum CodingKeys: String, CodingKey {
        case poolingMode = "pooling_mode"
        case cls = "pooling_mode_cls_token", max = "pooling_mode_max_tokens", mean = "pooling_mode_mean_tokens"
        case meanSqrt = "pooling_mode_mean_sqrt_len_tokens", weightedMean = "pooling_mode_weightedmean_tokens"
        case lastToken = "pooling_mode_lasttoken"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var names: [String] = []
        if c.contains(.poolingMode) {
            if let one = try? c.decode(String.self, forKey: .poolingMode) { names = [one] } else {
                names = try c.decode([String].self, forKey: .poolingMode)
            }
        } else {
            // The legacy booleans, in the order sentence-transformers converts them.
            let legacy: [(CodingKeys, String)] = [(.cls, "cls"), (.max, "max"), (.mean, "mean"), (.meanSqrt, "mean_sqrt_len_tokens"),
                                                  (.weightedMean, "weightedmean"), (.lastToken, "lasttoken")]
            for (key, name) in legacy where try c.decodeIfPresent(Bool.self, forKey: key) == true { names.append(name) }
        }
        modes = []
        for name in names {
            guard let mode = Mode(rawValue: name) else {
                throw DecodingError.dataCorruptedError(forKey: .poolingMode, in: c, debugDescription:
                    "names pooling mode '\(name)', which is not supported (\(Mode.allCases.map(\.rawValue).joined(separator: ", ")) are)")
            }
            modes.append(mode)
        }
    }

    /// The pooled vectors, concatenated in `modes` order: `hidden` `[B, S, H]`, `attentionMask`
    /// `[B, S]` → `[B, modes·H]`. Trace-safe: no host reads (the first real token is picked with a
    /// one-hot weight from a running count, so left padding works too).
    public func pool(_ hidden: Tensor, attentionMask: Tensor) -> Tensor {
        let real = attentionMask .!= 0
        let keep = real.unsqueezed(at: -1)                                // [B, S, 1]
        let weights = keep.cast(to: .float32)
        var parts: [Tensor] = []
        for mode in modes {
            switch mode {
            case .cls:
                let first = (real .& (cumulativeSum(real.cast(to: .float32)) .== Tensor(1))).cast(to: .float32)
                parts.append((hidden * first.unsqueezed(at: -1)).sum(dim: 1))
            case .max:
                parts.append(Tensor.where(keep, hidden, Tensor(-Float.infinity)).max(dim: 1))
            case .mean, .meanSqrtLenTokens:
                let sum = (hidden * weights).sum(dim: 1)
                let count = weights.sum(dim: 1).clamped(min: 1e-9)
                parts.append(mode == .mean ? sum / count : sum / count.sqrt())
            }
        }
        return parts.count == 1 ? parts[0] : Tensor.concat(parts, dim: -1)
    }
}

/// A sentence-transformers directory: where the transformer lives, its pooling, and whether the
/// embedding is normalized. Read from `modules.json`; any module other than Transformer, Pooling and
/// Normalize is an error naming its type.
public struct SentenceTransformersConfig: Sendable, Equatable {
    /// The transformer's directory (the model directory itself, or a subfolder like `0_Transformer`).
    public var transformerDirectory: URL
    /// The Pooling module's modes.
    public var pooling: PoolingConfig
    /// Whether a Normalize module follows the pooling.
    public var normalize: Bool

    struct ModuleEntry: Decodable {
        var path: String
        var type: String
    }

    /// Whether `directory` is a sentence-transformers model (it has `modules.json`).
    public static func isPresent(in directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("modules.json").path)
    }

    /// Reads `modules.json` and the pooling config of `directory`.
    public static func load(from directory: URL) throws(TransformersError) -> SentenceTransformersConfig {
        let file = directory.appendingPathComponent("modules.json")
        let modules: [ModuleEntry] = try decodeJSON([ModuleEntry].self, at: file)
        var transformer: URL? = nil, pooling: PoolingConfig? = nil, normalize = false
        for (index, module) in modules.enumerated() {
            let at = directory.appendingPathComponent(module.path)
            // `sentence_transformers.models.Pooling` and, from version 6, longer module paths.
            switch module.type.split(separator: ".").last.map(String.init) ?? "" {
            case "Transformer": transformer = at
            case "Pooling": pooling = try decodeJSON(PoolingConfig.self, at: at.appendingPathComponent("config.json"))
            case "Normalize": normalize = true
            default:
                throw .invalidConfigField(file: file.path, field: "[\(index)].type",
                                          reason: "is '\(module.type)'; supported modules: Transformer, Pooling, Normalize")
            }
        }
        guard let transformer else { throw .invalidConfigField(file: file.path, field: "(document)", reason: "names no sentence_transformers.models.Transformer module") }
        guard let pooling else { throw .invalidConfigField(file: file.path, field: "(document)", reason: "names no sentence_transformers.models.Pooling module") }
        guard !pooling.modes.isEmpty else {
            throw .invalidConfigField(file: file.path, field: "Pooling", reason: "enables no pooling mode")
        }
        return SentenceTransformersConfig(transformerDirectory: transformer, pooling: pooling, normalize: normalize)
    }
}

/// An encoder with sentence-transformers' pooling and normalization: texts to `sentence_embedding`.
public final class SentenceEmbeddingModel<Base: EncoderModel>: Module {
    /// The transformer.
    public let encoder: Base
    /// Where it came from, its pooling and normalization.
    public let sentenceConfig: SentenceTransformersConfig

    public init(encoder: Base, config: SentenceTransformersConfig) {
        self.encoder = encoder
        sentenceConfig = config
        super.init()
    }

    /// The encoder's tensors keep their checkpoint names.
    public override func namedChildren() -> [(String, Module)] { encoder.namedChildren() }

    /// Loads the encoder from the directory's Transformer module and its pooling, in eval mode.
    public static func fromPretrained(directory: URL) throws -> SentenceEmbeddingModel {
        let config = try SentenceTransformersConfig.load(from: directory)
        let model = SentenceEmbeddingModel(encoder: try Base.fromPretrained(directory: config.transformerDirectory), config: config)
        model.eval()
        return model
    }

    /// Trusted-input forward: `[B, k·H]` embeddings (unit length when the directory normalizes).
    public func forward(_ inputs: EncoderInputs) -> Tensor {
        let hidden = encoder.lastHiddenState(inputs)
        let mask = inputs.attentionMask ?? Tensor.ones(inputs.inputIds.shape, dtype: .int64)
        let pooled = sentenceConfig.pooling.pool(hidden, attentionMask: mask)
        return sentenceConfig.normalize ? l2Normalized(pooled) : pooled
    }

    /// Validates, then runs `forward` (without gradients in eval mode).
    public func callAsFunction(_ inputs: EncoderInputs) throws(TransformersError) -> Tensor {
        try encoder.validate(inputs)
        return withNoGradIfEval(self) { forward(inputs) }
    }
}

extension TaskEntry {
    /// sentence-embedding on `Base`: selected by `modules.json`; output `sentence_embedding`.
    public static func sentenceEmbedding<Base: EncoderModel>(_ base: Base.Type) -> TaskEntry {
        TaskEntry(task: .sentenceEmbedding, architectures: [], outputs: ["sentence_embedding"], exportable: true, load: { directory, family in
            let m = try SentenceEmbeddingModel<Base>.fromPretrained(directory: directory)
            return TaskModel(module: m, task: .sentenceEmbedding, inputs: family.inputs, maxSequenceLength: m.encoder.config.maxSequenceLength) {
                [("sentence_embedding", m.forward($0.encoder))]
            }
        }, pipeline: { directory in
            let m = try SentenceEmbeddingModel<Base>.fromPretrained(directory: directory)
            let tokenizer = try requireTokenizer(try loadTokenizer(directory: m.sentenceConfig.transformerDirectory))
            return { texts in
                let encoded = try texts.map { try tokenizer.encodeText($0, pair: nil) }
                return .embeddings(try m(paddedBatch(encoded.map(\.ids), typeIds: encoded.map(\.typeIds), pad: m.encoder.padTokenId)))
            }
        })
    }
}

/// Decodes a small JSON file of a model directory through the hardened parser, naming the file and
/// field on failure.
func decodeJSON<T: Decodable>(_ type: T.Type, at file: URL) throws(TransformersError) -> T {
    guard FileManager.default.fileExists(atPath: file.path) else { throw .missingFile(path: file.path) }
    do { return try JSONReader(contentsOf: file.path).decode(T.self) } catch { throw BertConfig.describe(error) }
}
