import Foundation
import Testing
import TCompile

/// `--precision` on the command line and `options.precision` in a manifest.
@Suite(.serialized) struct PrecisionCLITests {
    @Test func anUnknownPrecisionIsAnArgumentErrorListingTheAcceptedOnes() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for arguments in [[dir + "/model.json", "-o", dir + "/out", "--precision", "int4"],
                          ["run", dir + "/model.json", "--precision", "fp8"],
                          ["bench", dir + "/model.json", "--precision", "fp16"]] {
            let result = try CLITests.run(arguments)
            #expect(result.status == 64 && result.output.contains("accepted: fp32, bf16, int8"), "\(arguments): \(result.output)")
        }
        let eager = try CLITests.run(["run", dir + "/model.json", "--eager", "--precision", "bf16"])
        #expect(eager.status == 64 && eager.output.contains("applies to --compiled"), "\(eager.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
    }

    @Test(.enabled(if: HostTarget.host().has("avx512bf16"), "the host CPU lacks avx512bf16 (AVX512-BF16), which bf16 needs"))
    func aManifestAsksForBF16AndTheFlagOverridesIt() throws {
        let path = try ManifestTests.write(["options": ["threads": 1, "precision": "bf16"]])
        let dir = (path as NSString).deletingLastPathComponent
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let compile = try CLITests.run([path, "-o", dir + "/bf16"])
        #expect(compile.status == 0 && compile.output.contains("precision bf16"), "\(compile.output)")
        // The accuracy it cost, per output, against the f32 graph.
        #expect(compile.output.contains("accuracy at bf16 against the f32 graph") && compile.output.contains("logits: max abs error")
                && compile.output.contains("cosine"), "\(compile.output)")
        let header = try String(contentsOfFile: dir + "/bf16/classify.h", encoding: .utf8)
        #expect(header.contains("#define CLASSIFY_PRECISION \"bf16\""))
        let fp32 = try CLITests.run([path, "-o", dir + "/fp32", "--precision", "fp32"])
        #expect(fp32.status == 0 && !fp32.output.contains("accuracy at"), "\(fp32.output)")
        #expect(try String(contentsOfFile: dir + "/fp32/classify.h", encoding: .utf8).contains("#define CLASSIFY_PRECISION \"fp32\""))
        // bf16 weights: the linear layers' half the bytes.
        let size = { (file: String) in (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0 }
        #expect(try size(dir + "/bf16/classify.weights") < size(dir + "/fp32/classify.weights"))
        let run = try CLITests.run(["run", path, "--tokenizer", ManifestTests.checkpoint, "--text", "Simmer the garlic sauce until it is creamy."])
        #expect(run.status == 0 && run.output.contains("→ cooking"), "\(run.output)")
    }

    /// `--precision int8` compiles the library (quarter-size linear weights), reports the accuracy it
    /// cost, and classifies as f32 does; `--keep-fp32` with a pattern that matches nothing is refused
    /// before anything is written.
    @Test(.enabled(if: HostTarget.host().has("avx512vnni"), "the host CPU lacks avx512vnni (AVX512-VNNI), which int8 needs"))
    func int8LibraryAndKeptLayers() throws {
        let path = try ManifestTests.write(["options": ["threads": 1]])
        let dir = (path as NSString).deletingLastPathComponent
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let compile = try CLITests.run([path, "-o", dir + "/int8", "--precision", "int8"])
        #expect(compile.status == 0 && compile.output.contains("precision int8")
                && compile.output.contains("accuracy at int8 against the f32 graph"), "\(compile.output)")
        #expect(try String(contentsOfFile: dir + "/int8/classify.h", encoding: .utf8).contains("#define CLASSIFY_PRECISION \"int8\""))
        let fp32 = try CLITests.run([path, "-o", dir + "/fp32"])
        #expect(fp32.status == 0, "\(fp32.output)")
        let size = { (file: String) in (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0 }
        #expect(try size(dir + "/int8/classify.weights") < size(dir + "/fp32/classify.weights"))
        let unmatched = try CLITests.run([path, "-o", dir + "/kept", "--precision", "int8", "--keep-fp32", "no.such.layer*"])
        #expect(unmatched.status == 1 && unmatched.output.contains("'no.such.layer*' matches no weight"), "\(unmatched.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/kept/classify.h"))
        let run = try CLITests.run(["run", path, "--compiled", "--precision", "int8", "--keep-fp32", "*.layer.0.*",
                                    "--tokenizer", ManifestTests.checkpoint, "--text", "Simmer the garlic sauce until it is creamy."])
        #expect(run.status == 0 && run.output.contains("→ cooking"), "\(run.output)")
    }

    /// `--calibrate FILE` at int8: the layers are calibrated and the accuracy report runs on the file's
    /// inputs; at another precision, for a generating command, or with a file that does not fit the
    /// graph, it is refused before code generation.
    @Test(.enabled(if: HostTarget.host().has("avx512vnni"), "the host CPU lacks avx512vnni (AVX512-VNNI), which int8 needs"))
    func calibratedInt8Library() throws {
        let path = try ManifestTests.write(["options": ["threads": 1]])
        let dir = (path as NSString).deletingLastPathComponent
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/calibration.safetensors"
        try SafeTensors.write(["input_ids": Tensor.randint(1, 400, shape: [4, 16], seed: 1), "attention_mask": Tensor.ones([4, 16], dtype: .int64),
                               "token_type_ids": Tensor.zeros([4, 16], dtype: .int64)], to: file)
        let compile = try CLITests.run([path, "-o", dir + "/static", "--precision", "int8", "--calibrate", file])
        #expect(compile.status == 0 && compile.output.contains("int8 layers on 1 input set (static quantization)")
                && compile.output.contains("(1 sample input, the calibration inputs)"), "\(compile.output)")
        let fp32 = try CLITests.run([path, "-o", dir + "/f32", "--calibrate", file])
        #expect(fp32.status == 1 && fp32.output.contains("--calibrate applies to --precision int8"), "\(fp32.output)")
        let bad = dir + "/bad.safetensors"
        try SafeTensors.write(["input_ids": Tensor.randint(1, 400, shape: [4, 99], seed: 1)], to: bad)
        let refused = try CLITests.run([path, "-o", dir + "/bad", "--precision", "int8", "--calibrate", bad])
        #expect(refused.status == 1 && refused.output.contains("calibration file \(bad)"), "\(refused.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad/classify.h") && !FileManager.default.fileExists(atPath: dir + "/f32/classify.h"))
        let run = try CLITests.run(["run", path, "--compiled", "--precision", "int8", "--calibrate", file,
                                    "--tokenizer", ManifestTests.checkpoint, "--text", "Simmer the garlic sauce until it is creamy."])
        #expect(run.status == 0 && run.output.contains("→ cooking"), "\(run.output)")
    }
}
