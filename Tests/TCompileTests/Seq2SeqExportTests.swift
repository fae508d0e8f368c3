import Foundation
import Testing
import TCompile
import Transformers

/// Encoder-decoder families run eagerly only: export, the manifest and the command line refuse their
/// task with an error that says so, instead of tracing a graph the compiler cannot serve.
@Suite struct Seq2SeqExportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures").standardized

    static let refusal = "seq2seq (encoder-decoder) export is not available yet"

    @Test func exportRefusesSeq2Seq() throws {
        let bart = Self.fixtures.appendingPathComponent("bart-lm")
        for task in [nil, ModelTask.text2textGeneration] {
            #expect { _ = try ModelExport.load(directory: bart, task: task) } throws: { "\($0)".contains(Self.refusal) }
        }
        let t5 = Self.fixtures.appendingPathComponent("t5-v1_0")
        #expect { _ = try ModelExport.load(directory: t5, task: nil) } throws: { "\($0)".contains(Self.refusal) }
        #expect { _ = try ModelExport.load(directory: bart, task: .fillMask) } throws: { "\($0)".contains("not available for model_type 'bart'") }
    }

    @Test func manifestRefusesSeq2Seq() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("bart"), withDestinationURL: Self.fixtures.appendingPathComponent("bart-lm"))
        let manifest = """
            {"format": "\(ModelManifest.format)", "checkpoint": "bart",
             "dynamic_dims": {"batch": {"max": 2}, "seq": {"max": 16}}}
            """
        try Data(manifest.utf8).write(to: dir.appendingPathComponent("model.json"))
        #expect { _ = try ModelManifest.read(path: dir.appendingPathComponent("model.json").path) } throws: {
            "\($0)".contains(Self.refusal) && "\($0)".contains("task")
        }
    }

    /// `tcompile export` writes a manifest for an encoder-decoder (which `tcompile generate` runs
    /// eagerly); compiling that manifest is refused.
    @Test func commandLineRefusesSeq2Seq() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-cli-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let export = try CLITests.run(["export", Self.fixtures.appendingPathComponent("bart-lm").path, "--max-seq", "16", "-o", dir + "/model.json"])
        #expect(export.status == 0 && export.output.contains("manifest") && !export.output.contains("Fatal"), "\(export.output)")
        let manifest = try ModelManifest.read(path: dir + "/model.json", eagerTasks: true)
        #expect(manifest.task == .text2textGeneration && manifest.maxSeq == 16)
        let compile = try CLITests.run([dir + "/model.json", "-o", dir + "/out"])
        #expect(compile.status == 1 && compile.output.contains(Self.refusal) && !compile.output.contains("Fatal"), "\(compile.output)")
        let tooLong = try CLITests.run(["export", Self.fixtures.appendingPathComponent("bart-lm").path, "--max-seq", "100000", "-o", dir + "/long.json"])
        #expect(tooLong.status == 1 && tooLong.output.contains("--max-seq 100000 exceeds"), "\(tooLong.output)")
    }
}
