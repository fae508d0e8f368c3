import Foundation
import Testing
import TCompile
import Transformers

/// Encoder-decoder export: the teacher-forced forward traces (`decoder_input_ids` with its own dim,
/// `target`), `tcompile export` writes a manifest naming the checkpoint, and `tcompile run` on that
/// manifest writes transformers' `logits` and `encoder_last_hidden_state`, interpreted and compiled.
@Suite(.serialized) struct Seq2SeqExportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures").standardized

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        guard a.shape == b.shape else { return .infinity }
        return zip(a.toFloatArray(), b.toFloatArray()).map { abs($0 - $1) }.max() ?? 0
    }

    /// The traced teacher-forced forward in the interpreter equals eager and transformers.
    @Test(arguments: ["bart-lm", "t5-v1_1"])
    func teacherForcedForwardTraces(_ name: String) throws {
        let model = try ModelExport.load(directory: Self.fixtures.appendingPathComponent(name), task: nil)
        #expect(model.task == .text2textGeneration)
        let graph = try model.trace(maxBatch: 2, maxSeq: 16)
        #expect(graph.symbols.map(\.name).sorted() == ["batch", "seq", "target"])
        let e = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent(name + "/expected.safetensors").path)
        let inputs = ["input_ids": try e.tensor("input_ids"), "attention_mask": try e.tensor("attention_mask"),
                      "decoder_input_ids": try e.tensor("decoder_input_ids")]
        let out = try Interpreter(graph: graph).run(inputs)
        for key in ["logits", "encoder_last_hidden_state"] {
            #expect(Self.maxDifference(try #require(out[key]), try e.tensor(key)) <= 1e-4, "\(name) \(key)")
        }
        let eager = Dictionary(uniqueKeysWithValues: model.forward(inputs).map { ($0.name, $0.tensor) })
        #expect(Self.maxDifference(out["logits"]!, eager["logits"]!) == 0)
    }

    /// `tcompile export` writes a manifest; `tcompile run` on it (eager and compiled) writes the
    /// teacher-forced outputs under transformers' names; a bad bound is still refused.
    @Test(arguments: ["bart-lm", "t5-v1_0"])
    func commandLineRunsTheTeacherForcedForward(_ name: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq2seq-cli-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let export = try CLITests.run(["export", Self.fixtures.appendingPathComponent(name).path, "--max-seq", "16", "-o", dir + "/model.json"])
        #expect(export.status == 0 && export.output.contains("manifest") && !export.output.contains("Fatal"), "\(export.output)")
        let manifest = try ModelManifest.read(path: dir + "/model.json")
        #expect(manifest.task == .text2textGeneration && manifest.maxSeq == 16)
        let e = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent(name + "/expected.safetensors").path)
        try SafeTensors.write(["input_ids": try e.tensor("input_ids"), "attention_mask": try e.tensor("attention_mask"),
                               "decoder_input_ids": try e.tensor("decoder_input_ids")], to: dir + "/in.safetensors")
        for mode in ["--eager", "--compiled"] {
            let out = dir + "/out\(mode).safetensors"
            let run = try CLITests.run(["run", dir + "/model.json", "--inputs", dir + "/in.safetensors", mode, "-o", out])
            #expect(run.status == 0, "\(run.output)")
            let written = try SafeTensorsFile(path: out)
            for key in ["logits", "encoder_last_hidden_state"] {
                #expect(Self.maxDifference(try written.tensor(key), try e.tensor(key)) <= 1e-4, "\(name) \(mode) \(key)")
            }
        }
        let tooLong = try CLITests.run(["export", Self.fixtures.appendingPathComponent(name).path, "--max-seq", "100000", "-o", dir + "/long.json"])
        #expect(tooLong.status == 1 && tooLong.output.contains("--max-seq 100000 exceeds"), "\(tooLong.output)")
    }
}
