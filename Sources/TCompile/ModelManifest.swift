import Foundation
import Graph
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

    static let fields = ["format", "name", "checkpoint", "model_type", "task", "dynamic_dims", "outputs", "options"]

    /// Reads and validates a manifest; every error names the file and the field.
    public static func read(path: String) throws -> ModelManifest {
        func fail(_ field: String, _ message: String) -> ExportError { ExportError("\(path): \(field) \(message)") }
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { throw ExportError("\(path): cannot read the file") }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw ExportError("\(path): not a JSON object") }
        if root["format"] as? String == "tcompile.model/1" {
            throw fail("format", "\"tcompile.model/1\" is not read: write \"format\": \"\(format)\", name the Hugging Face task in \"task\" (\(ModelRegistry.tasks.map(\.rawValue).joined(separator: ", "))) instead of \"head\", and \"model_type\" instead of \"architecture\" (optional)")
        }
        if let unknown = Set(root.keys).subtracting(fields).sorted().first {
            throw fail(unknown, "is not a known field (expected one of \(fields.sorted().joined(separator: ", ")))")
        }
        func string(_ key: String, in object: [String: Any], at path: String) throws -> String {
            guard let v = object[key] else { throw fail(path, "is missing") }
            guard let s = v as? String, !s.isEmpty else { throw fail(path, "must be a non-empty string") }
            return s
        }
        func int(_ v: Any?, at field: String) throws -> Int {
            guard let v else { throw fail(field, "is missing") }
            guard let n = v as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue == Double(n.intValue) else { throw fail(field, "must be an integer") }
            return n.intValue
        }
        guard try string("format", in: root, at: "format") == format else { throw fail("format", "must be \"\(format)\"") }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        let checkpoint = directory.appendingPathComponent(try string("checkpoint", in: root, at: "checkpoint")).standardized
        guard FileManager.default.fileExists(atPath: checkpoint.path + "/config.json") else {
            throw fail("checkpoint", "'\(checkpoint.path)' is not a checkpoint directory (no config.json)")
        }
        let kind = try ModelRegistry.kind(ofCheckpoint: checkpoint)
        let family = kind.family
        if root["model_type"] != nil {
            let stated = try string("model_type", in: root, at: "model_type")
            guard stated == family.modelType else {
                throw fail("model_type", "is '\(stated)' but the checkpoint's config.json says '\(family.modelType)'")
            }
        }
        let task: ModelTask
        if root["task"] != nil {
            let name = try string("task", in: root, at: "task")
            guard let t = ModelTask(rawValue: name), family.tasks.contains(where: { $0.task == t }) else {
                throw fail("task", "'\(name)' is not a task of \(family.modelType) (\(family.taskNames))")
            }
            task = t
        } else {
            task = try ModelRegistry.inferredTask(for: kind, file: checkpoint.path + "/config.json").task
        }
        guard let dims = root["dynamic_dims"] as? [String: Any] else { throw fail("dynamic_dims", "must be an object with batch and seq") }
        if let unknown = Set(dims.keys).subtracting(["batch", "seq"]).sorted().first { throw fail("dynamic_dims.\(unknown)", "is not a dynamic dim (batch, seq)") }
        var bounds: [String: Int] = [:]
        for dim in ["batch", "seq"] {
            guard let spec = dims[dim] as? [String: Any] else { throw fail("dynamic_dims.\(dim)", "must be an object like {\"max\": 8}") }
            if let unknown = Set(spec.keys).subtracting(["max"]).sorted().first { throw fail("dynamic_dims.\(dim).\(unknown)", "is not a known field (max)") }
            bounds[dim] = try int(spec["max"], at: "dynamic_dims.\(dim).max")
        }
        let maxBatch = bounds["batch"] ?? 0, maxSeq = bounds["seq"] ?? 0
        guard maxBatch >= 1 else { throw fail("dynamic_dims.batch.max", "must be at least 1") }
        guard maxSeq >= 2 else { throw fail("dynamic_dims.seq.max", "must be at least 2") }
        let config = try family.configType.load(from: checkpoint.appendingPathComponent("config.json"))
        guard maxSeq <= config.maxSequenceLength else {
            throw fail("dynamic_dims.seq.max", "\(maxSeq) exceeds the \(config.maxSequenceLength) positions the checkpoint has")
        }
        var outputs: [String]? = nil
        if let o = root["outputs"] {
            guard let list = o as? [String], !list.isEmpty else { throw fail("outputs", "must be a non-empty list of output names") }
            let known = try family.entry(task).outputs
            if let unknown = list.first(where: { !known.contains($0) }) {
                throw fail("outputs", "'\(unknown)' is not an output of \(family.modelType) \(task.rawValue) (\(known.joined(separator: ", ")))")
            }
            outputs = list
        }
        var threads: Int? = nil
        if let options = root["options"] {
            guard let o = options as? [String: Any] else { throw fail("options", "must be an object") }
            if let unknown = Set(o.keys).subtracting(["threads", "precision"]).sorted().first { throw fail("options.\(unknown)", "is not a known option (threads, precision)") }
            if let t = o["threads"] {
                let count = try int(t, at: "options.threads")
                guard (1...TCompile.maximumThreads).contains(count) else { throw fail("options.threads", "must be 1 to \(TCompile.maximumThreads), got \(count)") }
                threads = count
            }
            if let p = o["precision"] { guard p as? String == "f32" else { throw fail("options.precision", "only \"f32\" is supported") } }
        }
        var name: String? = nil
        if root["name"] != nil {
            let n = try string("name", in: root, at: "name")
            guard CIdentifier.isValid(n) else { throw fail("name", "'\(n)' is not a C identifier (ASCII letters, digits and _, not starting with a digit)") }
            name = n
        }
        return ModelManifest(name: name, checkpoint: checkpoint.path, modelType: family.modelType, task: task,
                             maxBatch: maxBatch, maxSeq: maxSeq, outputs: outputs, threads: threads)
    }

    /// Builds the eager model, traces it, and keeps the requested outputs.
    public func graph() throws -> (name: String, graph: Graph) {
        let directory = URL(fileURLWithPath: checkpoint)
        var graph = try ModelExport.load(directory: directory, task: task).trace(maxBatch: maxBatch, maxSeq: maxSeq)
        if let outputs {
            let available = graph.outputs.map(\.name)
            if let missing = outputs.first(where: { !available.contains($0) }) {
                throw ExportError("outputs: '\(missing)' is not an output of this checkpoint's \(task.rawValue) model (\(available.joined(separator: ", ")))")
            }
            graph.outputs = graph.outputs.filter { outputs.contains($0.name) }
        }
        return (name ?? CIdentifier.make(from: directory.lastPathComponent), graph)
    }
}
