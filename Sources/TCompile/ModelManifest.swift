import Foundation
import Graph

/// `model.json` in its `tcompile.model/1` form: a manifest naming a Hugging Face checkpoint directory,
/// the architecture and head, the dynamic dims with their bounds, the outputs wanted, and options.
/// tcompile builds the eager model, traces it and compiles it. See
/// docs/schemas/tcompile.model-1.schema.json.
///
/// ```json
/// {"format": "tcompile.model/1", "checkpoint": "all-MiniLM-L6-v2", "architecture": "bert",
///  "head": "base", "dynamic_dims": {"batch": {"max": 8}, "seq": {"max": 128}},
///  "outputs": ["last_hidden_state"], "options": {"threads": 2}}
/// ```
public struct ModelManifest: Sendable, Equatable {
    /// The format tag.
    public static let format = "tcompile.model/1"

    public var name: String?
    /// The checkpoint directory, resolved against the manifest's folder.
    public var checkpoint: String
    /// `bert`, `roberta` or `gpt2`; must match the checkpoint's `model_type`.
    public var architecture: String
    /// The head, which selects the task.
    public var head: String
    /// Upper bound of the batch dim.
    public var maxBatch: Int
    /// Upper bound of the sequence dim.
    public var maxSeq: Int
    /// The outputs to keep (all when nil).
    public var outputs: [String]?
    /// BLAS threads for running the model (the machine's cores when nil).
    public var threads: Int?

    /// Heads by architecture, and the task each means.
    static let heads: [String: [String: ExportTask]] = [
        "bert": ["base": .featureExtraction, "masked-lm": .fillMask, "next-sentence-prediction": .nextSentencePrediction,
                 "pretraining": .pretraining, "sequence-classification": .textClassification],
        "roberta": ["base": .featureExtraction, "masked-lm": .fillMask, "sequence-classification": .textClassification],
        "gpt2": ["base": .featureExtraction, "causal-lm": .textGeneration],
    ]

    /// The task the head means.
    public var task: ExportTask { Self.heads[architecture]![head]! }

    /// Reads and validates a manifest; every error names the file and the field.
    public static func read(path: String) throws -> ModelManifest {
        func fail(_ field: String, _ message: String) -> ExportError { ExportError("\(path): \(field) \(message)") }
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { throw ExportError("\(path): cannot read the file") }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw ExportError("\(path): not a JSON object") }
        let known: Set<String> = ["format", "name", "checkpoint", "architecture", "head", "dynamic_dims", "outputs", "options"]
        if let unknown = Set(root.keys).subtracting(known).sorted().first {
            throw fail(unknown, "is not a known field (expected one of \(known.sorted().joined(separator: ", ")))")
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
        let architecture = try string("architecture", in: root, at: "architecture")
        guard let heads = Self.heads[architecture] else { throw fail("architecture", "'\(architecture)' is not one of bert, roberta, gpt2") }
        let head = try string("head", in: root, at: "head")
        guard heads[head] != nil else { throw fail("head", "'\(head)' is not a \(architecture) head (\(heads.keys.sorted().joined(separator: ", ")))") }
        guard let dims = root["dynamic_dims"] as? [String: Any] else { throw fail("dynamic_dims", "must be an object with batch and seq") }
        if let unknown = Set(dims.keys).subtracting(["batch", "seq"]).sorted().first { throw fail("dynamic_dims.\(unknown)", "is not a dynamic dim (batch, seq)") }
        var bounds: [String: Int] = [:]
        for dim in ["batch", "seq"] {
            guard let spec = dims[dim] as? [String: Any] else { throw fail("dynamic_dims.\(dim)", "must be an object like {\"max\": 8}") }
            if let unknown = Set(spec.keys).subtracting(["max"]).sorted().first { throw fail("dynamic_dims.\(dim).\(unknown)", "is not a known field (max)") }
            bounds[dim] = try int(spec["max"], at: "dynamic_dims.\(dim).max")
        }
        guard bounds["batch"]! >= 1 else { throw fail("dynamic_dims.batch.max", "must be at least 1") }
        guard bounds["seq"]! >= 2 else { throw fail("dynamic_dims.seq.max", "must be at least 2") }
        var outputs: [String]? = nil
        if let o = root["outputs"] {
            guard let list = o as? [String], !list.isEmpty else { throw fail("outputs", "must be a non-empty list of output names") }
            outputs = list
        }
        var threads: Int? = nil
        if let options = root["options"] {
            guard let o = options as? [String: Any] else { throw fail("options", "must be an object") }
            if let unknown = Set(o.keys).subtracting(["threads", "precision"]).sorted().first { throw fail("options.\(unknown)", "is not a known option (threads, precision)") }
            if let t = o["threads"] {
                threads = try int(t, at: "options.threads")
                guard threads! >= 1 else { throw fail("options.threads", "must be at least 1") }
            }
            if let p = o["precision"] { guard p as? String == "f32" else { throw fail("options.precision", "only \"f32\" is supported") } }
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        let checkpoint = directory.appendingPathComponent(try string("checkpoint", in: root, at: "checkpoint")).standardized.path
        guard FileManager.default.fileExists(atPath: checkpoint + "/config.json") else {
            throw fail("checkpoint", "'\(checkpoint)' is not a checkpoint directory (no config.json)")
        }
        let config = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: checkpoint + "/config.json")))) as? [String: Any]
        if let type = config?["model_type"] as? String, type != architecture {
            throw fail("architecture", "is '\(architecture)' but the checkpoint's config.json says '\(type)'")
        }
        if let positions = (config?["max_position_embeddings"] ?? config?["n_positions"]) as? Int, bounds["seq"]! > positions - (architecture == "roberta" ? 2 : 0) {
            throw fail("dynamic_dims.seq.max", "\(bounds["seq"]!) exceeds the \(positions) positions the checkpoint has")
        }
        return ModelManifest(name: root["name"] as? String, checkpoint: checkpoint, architecture: architecture, head: head,
                             maxBatch: bounds["batch"]!, maxSeq: bounds["seq"]!, outputs: outputs, threads: threads)
    }

    /// Builds the eager model, traces it, and keeps the requested outputs.
    public func graph() throws -> (name: String, graph: Graph) {
        let directory = URL(fileURLWithPath: checkpoint)
        var graph = try ModelExport.load(directory: directory, task: task).trace(maxBatch: maxBatch, maxSeq: maxSeq)
        if let outputs {
            let available = graph.outputs.map(\.name)
            if let missing = outputs.first(where: { !available.contains($0) }) {
                throw ExportError("outputs: '\(missing)' is not an output of this head (\(available.joined(separator: ", ")))")
            }
            graph.outputs = graph.outputs.filter { outputs.contains($0.name) }
        }
        let fallback = String(directory.lastPathComponent.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        return (name ?? fallback, graph)
    }
}
