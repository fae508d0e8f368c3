import Foundation
import TCompile
import Transformers

/// What `tcompile export` writes for the encoder-decoders' text2text generation (also asked for as
/// `summarization` or `translation`): a `tcompile.model/2` manifest naming the checkpoint, since one
/// traced graph cannot hold their generation. `tcompile generate` compiles its encoder and decoder
/// step, `tcompile MANIFEST -o DIR` writes the seq2seq library (`NAME_encode`, `NAME_decode_step`),
/// `tcompile run` traces the teacher-forced forward.
enum EagerManifest {
    /// Hugging Face pipeline names served by the text2text-generation models.
    static let aliases: [String: ModelTask] = ["summarization": .text2textGeneration, "translation": .text2textGeneration]

    /// The task `--task` names, aliases included.
    static func task(named name: String) -> ModelTask? { ModelTask(rawValue: name) ?? aliases[name] }

    /// The manifest for `directory` when its task (`task`, else the one config.json's architectures
    /// select) is text2text-generation; nil for the tasks whose export is one traced graph.
    static func manifest(directory: URL, task: ModelTask?, maxBatch: Int, maxSeq: Int, name: String?, output: URL) throws -> String? {
        let kind = try ModelRegistry.kind(ofCheckpoint: directory)
        let entry = try task.map { try kind.family.entry($0) } ?? ModelRegistry.inferredTask(for: kind, file: directory.appendingPathComponent("config.json").path)
        guard entry.task == .text2textGeneration else { return nil }
        guard maxBatch >= 1 else { throw ExportError("--max-batch must be at least 1, got \(maxBatch)") }
        guard maxSeq >= 2 else { throw ExportError("--max-seq must be at least 2, got \(maxSeq)") }
        let config = try kind.family.configType.load(from: directory.appendingPathComponent("config.json"))
        guard maxSeq <= config.maxSequenceLength else {
            throw ExportError("--max-seq \(maxSeq) exceeds the \(config.maxSequenceLength) positions the checkpoint's config allows")
        }
        var fields: [(String, Any)] = [("format", ModelManifest.format)]
        if let name { fields.append(("name", name)) }
        fields += [("checkpoint", relativePath(of: directory.standardizedFileURL, from: output.deletingLastPathComponent().standardizedFileURL)),
                   ("model_type", kind.family.modelType), ("task", entry.task.rawValue),
                   ("dynamic_dims", ["batch": ["max": maxBatch], "seq": ["max": maxSeq]])]
        func encode(_ value: Any) -> String {
            switch value {
            case let s as String:
                return "\"" + s.unicodeScalars.map { c -> String in
                    switch c {
                    case "\"": return "\\\""
                    case "\\": return "\\\\"
                    case _ where c.value < 0x20: return String(format: "\\u%04x", c.value)
                    default: return String(c)
                    }
                }.joined() + "\""
            case let n as Int: return String(n)
            case let d as [String: Any]: return "{" + d.keys.sorted().map { "\(encode($0)): \(encode(d[$0]!))" }.joined(separator: ", ") + "}"
            default: return "null"
            }
        }
        return "{\n" + fields.map { "  \(encode($0.0)): \(encode($0.1))" }.joined(separator: ",\n") + "\n}\n"
    }

    /// `target` relative to `base` (both absolute), so the manifest moves with its checkpoint.
    static func relativePath(of target: URL, from base: URL) -> String {
        let t = target.pathComponents, b = base.pathComponents
        var common = 0
        while common < t.count, common < b.count, t[common] == b[common] { common += 1 }
        let parts = Array(repeating: "..", count: b.count - common) + t[common...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}
