import Foundation
import Testing
import TCompile

/// A Llama-family checkpoint through the command line: `tcompile export` writes model.json, `tcompile
/// run` writes the logits of a left-padded batch (eager and compiled, equal to transformers'), the
/// AOT compiler builds the library, and an id outside the vocabulary is refused with a message.
@Suite(.serialized) struct DecoderExportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures").standardized.path

    @Test(arguments: ["llama-lm"])
    func exportRunAndCompile(_ fixture: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("decoder-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let export = try CLITests.run(["export", Self.fixtures + "/" + fixture, "--max-batch", "2", "--max-seq", "16", "-o", dir + "/model.json"])
        #expect(export.status == 0, "\(export.output)")

        let expected = try SafeTensorsFile(path: Self.fixtures + "/\(fixture)/expected.safetensors")
        try SafeTensors.write(["input_ids": try expected.tensor("input_ids"), "attention_mask": try expected.tensor("attention_mask")],
                              to: dir + "/in.safetensors")
        let want = try expected.tensor("logits")
        for mode in ["--eager", "--compiled"] {
            let out = dir + "/out\(mode).safetensors"
            let run = try CLITests.run(["run", dir + "/model.json", "--inputs", dir + "/in.safetensors", mode, "-o", out])
            #expect(run.status == 0, "\(mode): \(run.output)")
            let logits = try SafeTensorsFile(path: out).tensor("logits")
            #expect(logits.shape == want.shape)
            let worst = zip(logits.toFloatArray(), want.toFloatArray()).map { Swift.abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4, "\(fixture) \(mode): logits differ from transformers by \(worst)")
        }

        // An id outside the vocabulary (131) is refused, eager and compiled, with an error (the
        // interpreter names the index_select node, the compiled model the token-id input).
        try SafeTensors.write(["input_ids": Tensor([1, 2, 131], shape: [1, 3]), "attention_mask": Tensor([1, 1, 1], shape: [1, 3])],
                              to: dir + "/bad.safetensors")
        for mode in ["--eager", "--compiled"] {
            let bad = try CLITests.run(["run", dir + "/model.json", "--inputs", dir + "/bad.safetensors", mode, "-o", dir + "/bad-out\(mode).safetensors"])
            #expect(bad.status == 1 && bad.output.contains("outside") && !bad.output.contains("Fatal"), "\(mode): \(bad.output)")
        }

        let compile = try CLITests.run([dir + "/model.json", "-o", dir + "/lib"])
        #expect(compile.status == 0, "\(compile.output)")
        #expect(FileManager.default.fileExists(atPath: dir + "/lib/lib\(fixture.replacingOccurrences(of: "-", with: "_")).a"), "\(compile.output)")
    }
}
