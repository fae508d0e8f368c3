import Foundation
import Graph
import JSON
import Transformers

/// `model.json` in its `tcompile.model/2` form: a manifest naming a Hugging Face checkpoint directory,
/// the task, the dynamic dims with their bounds, the outputs wanted, and options. tcompile builds the
/// eager model, traces it and compiles it. Families and tasks come from `ModelRegistry`; so does the
/// JSON Schema (`jsonSchema`, written to docs/schemas/tcompile.model-2.schema.json).
///
/// ```json
/// {"format": "tcompile.model/2", "checkpoint": "all-MiniLM-L6-v2", "task": "feature-extraction",
///  "dynamic_dims": {"batch": {"max": 8}, "seq": {"max": 128}},
///  "outputs": ["last_hidden_state"], "options": {"threads": 2}}
/// ```
public struct ModelManifest: Sendable, Equatable {
    /// The format tag.
    public static let format = "tcompile.model/2"

    public var name: String?
    /// The checkpoint directory, resolved against the manifest's folder.
    public var checkpoint: String
    /// The checkpoint's `model_type` (from config.json; the manifest may state it, and must then agree).
    public var modelType: String
    /// The task, by its Hugging Face name; when the manifest names none, the one config.json's
    /// `architectures` selects.
    public var task: ModelTask
    /// Upper bound of the batch dim.
    public var maxBatch: Int
    /// Upper bound of the sequence dim.
    public var maxSeq: Int
    /// The outputs to keep (all when nil).
    public var outputs: [String]?
    /// Threads for running the model (one per online core when nil).
    public var threads: Int?
    /// The precision to compile it at (`options.precision`: `"fp32"` — also spelled `"f32"` — or
    /// `"bf16"`); nil when the manifest says nothing (fp32). `--precision` overrides it.
    public var precision: Precision? = nil

    static let fields = ["format", "name", "checkpoint", "model_type", "task", "dynamic_dims", "outputs", "options"]

    /// Reads and validates a manifest; every error names the file and the field
    /// (`model.json: dynamic_dims.seq.max: must be an integer, got "many"`).
    /// `eagerTasks` accepts tasks that run eagerly only (`tcompile generate` on a seq2seq manifest);
    /// compiling refuses them.
    public static func read(path: String, eagerTasks: Bool = false) throws -> ModelManifest {
        do { return try parse(path: path, eagerTasks: eagerTasks) } catch let error as JSONError { throw ExportError(error.description) }
    }

    private static func parse(path: String, eagerTasks: Bool) throws -> ModelManifest {
        let root = try JSONReader(contentsOf: path).object()
        if (try? root.optionalString("format")) == "tcompile.model/1" {
            throw root.error(at: "format", "\"tcompile.model/1\" is not read: write \"format\": \"\(format)\", name the Hugging Face task in \"task\" (\(ModelRegistry.tasks.map(\.rawValue).joined(separator: ", "))) instead of \"head\", and \"model_type\" instead of \"architecture\" (optional)")
        }
        try root.rejectUnknownFields(fields)
        guard try root.requireString("format") == format else { throw root.error(at: "format", "must be \"\(format)\"") }
        func nonEmpty(_ key: String) throws -> String {
            let s = try root.requireString(key)
            guard !s.isEmpty else { throw root.error(at: key, "must be a non-empty string") }
            return s
        }
        let checkpoint = ReferencedPath.resolve(try nonEmpty("checkpoint"), namedIn: path)
        guard FileManager.default.fileExists(atPath: checkpoint.path + "/config.json") else {
            throw root.error(at: "checkpoint", "'\(checkpoint.path)' is not a checkpoint directory (no config.json)")
        }
        let kind = try ModelRegistry.kind(ofCheckpoint: checkpoint)
        let family = kind.family
        if root.contains("model_type") {
            let stated = try nonEmpty("model_type")
            guard stated == family.modelType else {
                throw root.error(at: "model_type", "is '\(stated)' but the checkpoint's config.json says '\(family.modelType)'")
            }
        }
        let task: ModelTask
        if root.contains("task") {
            let name = try nonEmpty("task")
            guard let t = ModelTask(rawValue: name), family.tasks.contains(where: { $0.task == t }) else {
                throw root.error(at: "task", "'\(name)' is not a task of \(family.modelType) (\(family.taskNames))")
            }
            task = t
        } else {
            task = try ModelRegistry.inferredTask(for: kind, file: checkpoint.path + "/config.json").task
        }
        if try !eagerTasks && !family.entry(task).exportable {
            throw root.error(at: "task", "'\(task.rawValue)' of \(family.modelType) runs eagerly only: seq2seq (encoder-decoder) export is not available yet (tcompile generate --eager runs this manifest)")
        }
        let dims = try root.object(at: "dynamic_dims")
        try dims.rejectUnknownFields(["batch", "seq"])
        func bound(_ dim: String, minimum: Int) throws -> Int {
            let spec = try dims.object(at: dim)
            try spec.rejectUnknownFields(["max"])
            let value = try spec.requireInt("max")
            guard value >= minimum else { throw spec.error(at: "max", "must be at least \(minimum), got \(value)") }
            return value
        }
        let maxBatch = try bound("batch", minimum: 1), maxSeq = try bound("seq", minimum: 2)
        let config = try family.configType.load(from: checkpoint.appendingPathComponent("config.json"))
        guard maxSeq <= config.maxSequenceLength else {
            throw try dims.object(at: "seq").error(at: "max", "\(maxSeq) exceeds the \(config.maxSequenceLength) positions the checkpoint has")
        }
        var outputs: [String]? = nil
        if let list = try root.optionalArray(at: "outputs") {
            guard !list.isEmpty else { throw root.error(at: "outputs", "must be a non-empty list of output names") }
            let known = try family.entry(task).outputs
            let names = try list.map { item throws(JSONError) in try item.string() }
            if let unknown = names.first(where: { !known.contains($0) }) {
                throw root.error(at: "outputs", "'\(unknown)' is not an output of \(family.modelType) \(task.rawValue) (\(known.joined(separator: ", ")))")
            }
            outputs = names
        }
        var threads: Int? = nil
        var precision: Precision? = nil
        if let options = try root.optionalObject(at: "options") {
            try options.rejectUnknownFields(["threads", "precision"])
            if let count = try options.optionalInt("threads") {
                guard (1...TCompile.maximumThreads).contains(count) else {
                    throw options.error(at: "threads", "must be 1 to \(TCompile.maximumThreads), got \(count)")
                }
                threads = count
            }
            if let p = try options.optionalString("precision") {
                if p == "f32" { precision = .fp32 } else {
                    guard let value = Precision(rawValue: p) else {
                        throw options.error(at: "precision", "'\(p)' is not supported (accepted: \((["f32"] + Precision.allCases.map(\.rawValue)).joined(separator: ", ")))")
                    }
                    precision = value
                }
            }
        }
        var name: String? = nil
        if root.contains("name") {
            let n = try nonEmpty("name")
            guard CIdentifier.isValid(n) else { throw root.error(at: "name", "'\(n)' is not a C identifier (ASCII letters, digits and _, not starting with a digit)") }
            name = n
        }
        var manifest = ModelManifest(name: name, checkpoint: checkpoint.path, modelType: family.modelType, task: task,
                                     maxBatch: maxBatch, maxSeq: maxSeq, outputs: outputs, threads: threads)
        manifest.precision = precision
        return manifest
    }

    /// Builds the eager model, traces it, and keeps the requested outputs.
    public func graph() throws -> (name: String, graph: Graph) {
        let directory = URL(fileURLWithPath: checkpoint)
        var graph = try ModelExport.load(directory: directory, task: task, tracing: true).trace(maxBatch: maxBatch, maxSeq: maxSeq)
        if let outputs {
            let available = graph.outputs.map(\.name)
            if let missing = outputs.first(where: { !available.contains($0) }) {
                throw ExportError("outputs: '\(missing)' is not an output of this checkpoint's \(task.rawValue) model (\(available.joined(separator: ", ")))")
            }
            graph.outputs = graph.outputs.filter { outputs.contains($0.name) }
        }
        return (name ?? ModelExport.defaultName(for: directory), graph)
    }
}
