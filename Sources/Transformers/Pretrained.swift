import Foundation
import JSON
import NN
import Tensors

/// A model that `fromPretrained(directory:)` can build from a Hugging Face checkpoint directory.
public protocol PretrainedModel: Module {
    associatedtype Config: PretrainedConfig
    /// The key prefix of the base model inside head checkpoints (`bert`, `roberta`, `transformer`), so that
    /// a base model loads from a head checkpoint and a head from a base checkpoint.
    static var basePrefix: String { get }
    /// A model for `config`, shaped by what the checkpoint holds (e.g. whether it has a pooler).
    init(config: Config, checkpointKeys: Set<String>)
    /// The config the model was built from.
    var config: Config { get }
    /// Tensors the model computes from its config and keeps when a checkpoint lacks them (DistilBERT's
    /// sinusoidal position table); a checkpoint that has them still overrides them. Empty by default.
    var derivedTensors: [Tensor] { get }
}

extension PretrainedModel {
    public var derivedTensors: [Tensor] { [] }
}

/// What loading a checkpoint found besides the tensors it used.
public struct CheckpointReport: Sendable, Equatable, CustomStringConvertible {
    /// Checkpoint tensors the model has no place for (e.g. `cls.*` when loading `BertModel` from a
    /// pre-training checkpoint), by their names in the file.
    public var unused: [String] = []
    /// Legacy buffers dropped on purpose (`embeddings.position_ids`, GPT-2's `attn.bias` mask).
    public var ignored: [String] = []
    /// Model tensors absent from the checkpoint and left at their random initialization (only
    /// with `allowingNewHeads`).
    public var newlyInitialized: [String] = []

    public var description: String {
        "unused: \(unused), ignored: \(ignored), newly initialized: \(newlyInitialized)"
    }
}

/// A loaded checkpoint: the model in eval mode, its config, the load report and the tokenizer.
public struct Pretrained<Model: PretrainedModel> {
    public var model: Model
    public var config: Model.Config
    public var report: CheckpointReport
    /// The directory's tokenizer (`Tokenizers.Tokenizer` by default), nil when it has no tokenizer files.
    public var tokenizer: (any TextEncoder)?
}

/// Reads a tokenizer from a checkpoint directory; nil when the directory has none.
public typealias TokenizerLoader = (URL) throws -> (any TextEncoder)?

extension PretrainedModel {
    /// Loads `config.json` and `model.safetensors` (or a sharded `model.safetensors.index.json`) from
    /// `directory` into a new model in eval mode.
    ///
    /// Keys are Hugging Face's; checkpoints with and without the base prefix (`bert.`) both load.
    /// A missing tensor or one of another shape is a `TransformersError` naming it, with both shapes.
    ///
    /// ```swift
    /// let model = try BertForMaskedLM.fromPretrained(directory: URL(fileURLWithPath: "bert-base-uncased"))
    /// ```
    /// The tokenizer is not read here (a model-only load never fails on tokenizer files); use
    /// `loadPretrained(directory:)` for the model with its tokenizer.
    public static func fromPretrained(directory: URL) throws -> Self {
        try loadPretrained(directory: directory, tokenizer: nil).model
    }

    /// `fromPretrained` with the full result: the report of unused tensors and the tokenizer, read by
    /// `tokenizer` (`loadTokenizer(directory:)` unless given; nil skips it).
    /// `allowingNewHeads` leaves tensors the checkpoint lacks at their initialization (fine-tuning a new
    /// classifier from a base checkpoint) and lists them instead of throwing.
    public static func loadPretrained(directory: URL, allowingNewHeads: Bool = false,
                                      tokenizer: TokenizerLoader? = loadTokenizer(directory:)) throws -> Pretrained<Self> {
        let config = try Config.load(from: directory.appendingPathComponent("config.json"))
        let checkpoint = try Checkpoint(directory: directory)
        var report = CheckpointReport()
        var names: [String: String] = [:]     // sanitized name → name in the file
        for name in checkpoint.names {
            if let clean = sanitize(name) { names[clean] = name } else { report.ignored.append(name) }
        }
        let model = WeightInitialization.$skip.withValue(!allowingNewHeads) { Self(config: config, checkpointKeys: Set(names.keys)) }
        model.eval()
        let own = model.namedParameters() + model.namedBuffers()
        let ownKeys = Set(own.map(\.0))
        let aligned = align(names, to: ownKeys, prefix: basePrefix)
        let derived = Set(model.derivedTensors.map(ObjectIdentifier.init))

        // Tied tensors (one object under several keys) load from whichever key the file has.
        var groups: [ObjectIdentifier: [(String, Tensor)]] = [:]
        var order: [ObjectIdentifier] = []
        for (key, tensor) in own {
            let id = ObjectIdentifier(tensor)
            if groups[id] == nil { order.append(id) }
            groups[id, default: []].append((key, tensor))
        }
        var state: [String: Tensor] = [:]
        var used = Set<String>()
        for id in order {
            let members = groups[id]!
            let present = members.filter { aligned[$0.0] != nil }
            guard let (key, target) = present.first else {
                if derived.contains(id) { continue }
                if allowingNewHeads { report.newlyInitialized.append(members[0].0); continue }
                throw TransformersError.missingTensor(file: checkpoint.path, tensor: members[0].0, expected: members[0].1.shape)
            }
            for (k, t) in present {
                let fileName = aligned[k]!
                let shape = checkpoint.shape(fileName)
                guard shape == t.shape else {
                    throw TransformersError.shapeMismatch(file: checkpoint.path, tensor: fileName, expected: t.shape, actual: shape)
                }
                used.insert(fileName)
            }
            state[key] = try checkpoint.tensor(aligned[key]!, as: target.dtype)
        }
        try model.loadStateDict(state, strict: false, assign: true)
        report.unused = names.values.filter { !used.contains($0) }.sorted()
        return Pretrained(model: model, config: config, report: report, tokenizer: try tokenizer?(directory))
    }

    /// The checkpoint's names keyed by model key: as they are, with the base prefix stripped, or with
    /// it added, whichever matches the most model keys.
    static func align(_ names: [String: String], to ownKeys: Set<String>, prefix: String) -> [String: String] {
        let p = prefix + "."
        let stripped = Dictionary(names.map { ($0.key.hasPrefix(p) ? String($0.key.dropFirst(p.count)) : $0.key, $0.value) },
                                  uniquingKeysWith: { a, _ in a })
        let added = Dictionary(names.map { (ownKeys.contains(p + $0.key) ? p + $0.key : $0.key, $0.value) },
                               uniquingKeysWith: { a, _ in a })
        return [names, stripped, added].max { a, b in
            a.keys.filter(ownKeys.contains).count < b.keys.filter(ownKeys.contains).count
        }!
    }

    /// The one rename hook: old LayerNorm names `gamma`/`beta` become `weight`/`bias`; legacy
    /// non-persistent buffers are dropped (nil).
    static func sanitize(_ name: String) -> String? {
        let legacyBuffers = ["embeddings.position_ids", "attn.bias", "attn.masked_bias"]
        if legacyBuffers.contains(where: { name == $0 || name.hasSuffix("." + $0) }) { return nil }
        if name.hasSuffix(".gamma") { return String(name.dropLast(6)) + ".weight" }
        if name.hasSuffix(".beta") { return String(name.dropLast(5)) + ".bias" }
        return name
    }
}

/// The safetensors file(s) of a checkpoint directory: one `model.safetensors`, or shards listed by
/// `model.safetensors.index.json`.
struct Checkpoint {
    let path: String
    private var files: [String: SafeTensorsFile] = [:]     // tensor name → its file

    init(directory: URL) throws {
        let single = directory.appendingPathComponent("model.safetensors")
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        let fm = FileManager.default
        if fm.fileExists(atPath: single.path) {
            path = single.path
            let file = try SafeTensorsFile(path: single.path)
            for name in file.entries.keys { files[name] = file }
        } else if fm.fileExists(atPath: index.path) {
            path = index.path
            var map: [(String, String)] = []
            do throws(JSONError) {
                for (name, shard) in try JSONReader(contentsOf: index.path).object(at: "weight_map").members() {
                    map.append((name, try shard.string()))
                }
            } catch {
                throw TransformersError.invalidConfigField(file: index.path, field: error.field, reason: error.reason)
            }
            var opened: [String: SafeTensorsFile] = [:]
            for (name, shard) in map {
                // A shard is a file of the checkpoint directory, and holds the tensors the index
                // puts in it (a name missing from its shard trapped when its shape was read).
                guard !shard.isEmpty, !shard.contains("/"), shard != "..", shard != "." else {
                    throw TransformersError.invalidConfigField(file: index.path, field: "weight_map.\(name)",
                                                               reason: "names the shard '\(shard)', which is not a file name in the checkpoint directory")
                }
                if opened[shard] == nil { opened[shard] = try SafeTensorsFile(path: directory.appendingPathComponent(shard).path) }
                guard opened[shard]!.entries[name] != nil else {
                    throw TransformersError.invalidConfigField(file: index.path, field: "weight_map.\(name)",
                                                               reason: "puts the tensor in '\(shard)', which does not hold it")
                }
                files[name] = opened[shard]
            }
        } else {
            let hint = fm.fileExists(atPath: directory.appendingPathComponent("pytorch_model.bin").path)
                ? " (only safetensors checkpoints are supported; pytorch_model.bin is not read)" : ""
            throw TransformersError.missingFile(path: single.path + hint)
        }
    }

    var names: [String] { Array(files.keys) }
    func shape(_ name: String) -> [Int] { files[name]!.entries[name]!.shape }
    func tensor(_ name: String, as dtype: DType) throws -> Tensor { try files[name]!.tensor(name, as: dtype) }
}
