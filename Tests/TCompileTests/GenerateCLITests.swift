import Foundation
import Testing
import TCompile
import Tokenizers

/// `tcompile generate` end to end on the checkpoints of `scripts/fixtures/generation_config_fixtures.py`:
/// the sequences it writes equal transformers' `model.generate` with the checkpoint's
/// generation_config.json (beam search) and with flags over it (greedy, compiled and eager), for a
/// decoder and for BART; streamed text, chat templates and bounds.
@Suite(.serialized) struct GenerateCLITests {
    static let fixtures = Seq2SeqExportTests.fixtures

    /// A folder with `model.json` (a manifest of the fixture `name`, seq bound `maxSeq`) and the
    /// fixture's prompts as IN.safetensors.
    static func workspace(_ name: String, task: String, maxSeq: Int = 32, inputs: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("generate-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/checkpoint", withDestinationPath: fixtures.appendingPathComponent(name).path)
        try Data("""
            {"format": "\(ModelManifest.format)", "checkpoint": "checkpoint", "task": "\(task)",
             "dynamic_dims": {"batch": {"max": 2}, "seq": {"max": \(maxSeq)}}, "options": {"threads": 2}}
            """.utf8).write(to: URL(fileURLWithPath: dir + "/model.json"))
        let e = try SafeTensorsFile(path: fixtures.appendingPathComponent(name + "/expected.safetensors").path)
        var tensors: [String: Tensor] = [:]
        for (key, source) in inputs { tensors[key] = try e.tensor(source) }
        try SafeTensors.write(tensors, to: dir + "/in.safetensors")
        return dir
    }

    static func expected(_ name: String, _ tensor: String) throws -> Tensor {
        try SafeTensorsFile(path: fixtures.appendingPathComponent(name + "/expected.safetensors").path).tensor(tensor)
    }

    static func sequences(_ path: String) throws -> Tensor { try SafeTensorsFile(path: path).tensor("sequences") }

    /// The checkpoint's generation_config.json alone (3 beams, 2 returned, two EOS ids, …): run
    /// eagerly with a notice, sequences identical to model.generate's.
    @Test func beamSearchFromTheCheckpointsGenerationConfig() throws {
        let dir = try Self.workspace("llama-genconfig", task: "text-generation", inputs: ["input_ids": "prompt", "attention_mask": "attention_mask"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try CLITests.run(["generate", dir + "/model.json", "--inputs", dir + "/in.safetensors", "-o", dir + "/out.safetensors"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("num_beams 3: beam search runs eagerly"), "\(run.output)")
        let ours = try Self.sequences(dir + "/out.safetensors"), hf = try Self.expected("llama-genconfig", "sequences_beam")
        #expect(ours.dtype == .int64 && ours.shape == hf.shape && ours.toIntArray() == hf.toIntArray(), "\(ours.toIntArray()) vs \(hf.toIntArray())")
    }

    /// `--precision bf16`: the compiled generator's graphs multiply in bf16 and the run says so; the
    /// sequences keep the prompt and fp32's shape, and most new tokens agree with model.generate's (bf16
    /// rounding may flip a near tie). The eager model refuses the flag; an unknown precision lists the
    /// accepted ones.
    @Test(.enabled(if: HostTarget.host().has("avx512bf16"), "the host CPU lacks avx512bf16 (AVX512-BF16), which bf16 needs"))
    func greedyAtBF16() throws {
        let dir = try Self.workspace("llama-genconfig", task: "text-generation", inputs: ["input_ids": "text_prompt"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let flags = ["--max-new-tokens", "8", "--num-beams", "1", "--num-return-sequences", "1"]
        let hf = try Self.expected("llama-genconfig", "text_sequences"), prompt = try Self.expected("llama-genconfig", "text_prompt")
        let out = dir + "/bf16.safetensors"
        let run = try CLITests.run(["generate", dir + "/model.json", "--inputs", dir + "/in.safetensors", "-o", out, "--precision", "bf16"] + flags)
        #expect(run.status == 0 && run.output.contains("compiled, bf16"), "\(run.output)")
        let ours = try Self.sequences(out)
        #expect(ours.shape == hf.shape, "\(ours.shape) vs \(hf.shape)")
        let width = prompt.shape[1]
        let rows = ours.toIntArray(), expected = hf.toIntArray(), prompts = prompt.toIntArray()
        let columns = ours.shape[1]
        var agree = 0, total = 0
        for r in 0..<ours.shape[0] {
            #expect(Array(rows[(r * columns)..<(r * columns + width)]) == Array(prompts[(r * width)..<((r + 1) * width)]), "row \(r): the prompt first")
            for c in width..<columns { total += 1; if rows[r * columns + c] == expected[r * columns + c] { agree += 1 } }
        }
        #expect(agree * 2 >= total, "\(agree) of \(total) new tokens equal fp32 transformers'")
        let eager = try CLITests.run(["generate", dir + "/model.json", "--inputs", dir + "/in.safetensors", "-o", out, "--eager", "--precision", "bf16"] + flags)
        #expect(eager.status == 64 && eager.output.contains("apply to the compiled generator"), "\(eager.output)")
        let calibrated = try CLITests.run(["generate", dir + "/model.json", "--inputs", dir + "/in.safetensors", "-o", out,
                                           "--precision", "int8", "--calibrate", dir + "/in.safetensors"] + flags)
        #expect(calibrated.status == 64 && calibrated.output.contains("--calibrate applies to compiling a model"), "\(calibrated.output)")
        let unknown = try CLITests.run(["generate", dir + "/model.json", "--inputs", dir + "/in.safetensors", "-o", out, "--precision", "int4"] + flags)
        #expect(unknown.status == 64 && unknown.output.contains("accepted: fp32, bf16"), "\(unknown.output)")
    }

    /// Flags over the file (greedy, 8 new tokens): compiled and eager write model.generate's sequences,
    /// and `--text` streams the same tokens as text.
    @Test func greedyCompiledAndEagerWithFlags() throws {
        let dir = try Self.workspace("llama-genconfig", task: "text-generation", inputs: ["input_ids": "text_prompt"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let flags = ["--max-new-tokens", "8", "--num-beams", "1", "--num-return-sequences", "1"]
        let hf = try Self.expected("llama-genconfig", "text_sequences")
        for mode in [[], ["--eager"]] {
            let out = dir + "/out\(mode.count).safetensors"
            let run = try CLITests.run(["generate", dir + "/model.json", "--inputs", dir + "/in.safetensors", "-o", out] + flags + mode)
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains(mode.isEmpty ? "compiled" : "eager"), "\(run.output)")
            #expect(try Self.sequences(out).toIntArray() == hf.toIntArray(), "\(mode)")
        }
        let tokenizer = try Tokenizer.fromDirectory(Self.fixtures.appendingPathComponent("llama-genconfig").path)
        let text = tokenizer.decode(hf.toIntArray())
        let checkpoint = Self.fixtures.appendingPathComponent("llama-genconfig").path
        let prompt = try #require(try SafeTensorsFile(path: checkpoint + "/expected.safetensors").metadata["text"])
        let streamed = try CLITests.run(["generate", dir + "/model.json", "--tokenizer", checkpoint, "--text", prompt, "--eager"] + flags)
        #expect(streamed.status == 0 && streamed.output.hasPrefix(text + "\n"), "\(streamed.output) vs \(text)")
    }

    /// `--chat` wraps the prompt in the tokenizer's ChatML template: the prompt ids are
    /// apply_chat_template's; a template the engine does not know is an error naming it.
    @Test func chatTemplate() throws {
        let dir = try Self.workspace("llama-genconfig", task: "text-generation", maxSeq: 48, inputs: [:])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let checkpoint = Self.fixtures.appendingPathComponent("llama-genconfig").path
        let prompt = try #require(try SafeTensorsFile(path: checkpoint + "/expected.safetensors").metadata["text"])
        let tokenizer = try Tokenizer.fromDirectory(checkpoint)
        let chatIds = try Self.expected("llama-genconfig", "chat_prompt").toIntArray()
        let run = try CLITests.run(["generate", dir + "/model.json", "--tokenizer", checkpoint, "--text", prompt, "--chat", "--eager",
                                    "--max-new-tokens", "4", "--num-beams", "1", "--num-return-sequences", "1"])
        #expect(run.status == 0 && run.output.hasPrefix(tokenizer.decode(chatIds)), "\(run.output)")

        let other = dir + "/tok"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: checkpoint + "/tokenizer.json", toPath: other + "/tokenizer.json")
        try Data(#"{"chat_template": "{{ messages[0]['content'] | upper }}"}"#.utf8).write(to: URL(fileURLWithPath: other + "/tokenizer_config.json"))
        let refused = try CLITests.run(["generate", dir + "/model.json", "--tokenizer", other, "--text", prompt, "--chat", "--eager"])
        #expect(refused.status == 1 && refused.output.contains("tcompile: error:") && refused.output.contains("upper"), "\(refused.output)")
    }

    /// A prompt plus max_new_tokens beyond the seq bound: an error naming both numbers, before loading.
    @Test func boundsBeforeAnyWork() throws {
        let dir = try Self.workspace("llama-genconfig", task: "text-generation", maxSeq: 16, inputs: ["input_ids": "text_prompt"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try CLITests.run(["generate", dir + "/model.json", "--inputs", dir + "/in.safetensors", "--max-new-tokens", "12", "--num-beams", "1", "--num-return-sequences", "1"])
        #expect(run.status == 1 && run.output.contains("prompt of 9 tokens + max_new_tokens 12 = 21 tokens exceed the seq bound 16"), "\(run.output)")
        for (flags, message) in [(["--early-stopping", "maybe"], "--early-stopping takes true, false or never"),
                                 (["--bad-words-ids", "5"], "--bad-words-ids must be a JSON list"),
                                 (["--top-p", "2"], "--top-p must be in (0, 1]"),
                                 (["--num-return-sequences", "5"], "--num-return-sequences must be in 1...num_beams (3)")] {
            let bad = try CLITests.run(["generate", dir + "/model.json", "--inputs", dir + "/in.safetensors"] + flags)
            #expect(bad.status != 0 && bad.output.contains(message) && bad.output.contains("tcompile: error:"), "\(bad.output)")
        }
    }

    /// A decoder's traced export (tcompile.graph/1) generates from the checkpoint given beside it, and
    /// only from the one it was exported from.
    @Test func tracedExportWithItsCheckpoint() throws {
        let dir = try Self.workspace("llama-genconfig", task: "text-generation", inputs: ["input_ids": "text_prompt"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let export = try CLITests.run(["export", dir + "/checkpoint", "--max-seq", "24", "--max-batch", "2", "-o", dir + "/traced/model.json"])
        #expect(export.status == 0, "\(export.output)")
        let flags = ["--max-new-tokens", "8", "--num-beams", "1", "--num-return-sequences", "1", "--eager"]
        let missing = try CLITests.run(["generate", dir + "/traced/model.json", "--inputs", dir + "/in.safetensors"] + flags)
        #expect(missing.status == 1 && missing.output.contains("--checkpoint DIR"), "\(missing.output)")
        let run = try CLITests.run(["generate", dir + "/traced/model.json", "--checkpoint", dir + "/checkpoint", "--inputs", dir + "/in.safetensors",
                                    "-o", dir + "/out.safetensors"] + flags)
        #expect(run.status == 0, "\(run.output)")
        #expect(try Self.sequences(dir + "/out.safetensors").toIntArray() == Self.expected("llama-genconfig", "text_sequences").toIntArray())
        let other = try CLITests.run(["generate", dir + "/traced/model.json", "--checkpoint", Self.fixtures.appendingPathComponent("llama-tied").path,
                                      "--inputs", dir + "/in.safetensors"] + flags)
        #expect(other.status == 1 && other.output.contains("was not exported from"), "\(other.output)")
    }

    /// BART: `export --task summarization` writes a manifest that generate runs (config.json's legacy
    /// generation fields: 2 beams, max_length, min_length, forced BOS/EOS) to model.generate's
    /// sequences, compiled (the default, beam search included) and eager; beyond the bounds, errors.
    @Test func seq2seqExportAndGenerate() throws {
        let dir = try Self.workspace("bart-genconfig", task: "text2text-generation", inputs: ["input_ids": "input_ids", "attention_mask": "attention_mask"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let export = try CLITests.run(["export", dir + "/checkpoint", "--task", "summarization", "--max-seq", "24", "-o", dir + "/exported/model.json"])
        #expect(export.status == 0 && export.output.contains("manifest"), "\(export.output)")
        let hf = try Self.expected("bart-genconfig", "sequences")
        for mode in [[], ["--eager"]] {
            let out = dir + "/out\(mode.count).safetensors"
            let run = try CLITests.run(["generate", dir + "/exported/model.json", "--inputs", dir + "/in.safetensors", "-o", out] + mode)
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains(mode.isEmpty ? "compiled" : "eager"), "\(run.output)")
            #expect(try Self.sequences(out).toIntArray() == hf.toIntArray(), "\(mode)")
        }
        // Greedy flags over the file: compiled equals eager.
        let flags = ["--num-beams", "1", "--max-new-tokens", "6", "--min-new-tokens", "0"]
        for mode in [[], ["--eager"]] {
            let run = try CLITests.run(["generate", dir + "/exported/model.json", "--inputs", dir + "/in.safetensors", "-o", dir + "/greedy\(mode.count).safetensors"] + flags + mode)
            #expect(run.status == 0, "\(run.output)")
        }
        #expect(try Self.sequences(dir + "/greedy0.safetensors").toIntArray() == Self.sequences(dir + "/greedy1.safetensors").toIntArray())
        let long = try CLITests.run(["generate", dir + "/exported/model.json", "--inputs", dir + "/in.safetensors", "--max-new-tokens", "30"])
        #expect(long.status == 1 && long.output.contains("exceed the seq bound 24"), "\(long.output)")
    }
}

extension GenerateCLITests {
    /// Marian through the command line: `--text` is encoded by its MarianTokenizer (source.spm +
    /// vocab.json), generated compiled and eagerly, and printed as transformers decodes the same ids.
    @Test func marianTextThroughTheTokenizer() throws {
        let dir = try Self.workspace("marian-mt", task: "text2text-generation", inputs: [:])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("marian-mt/expected.safetensors").path)
        let text = try #require(e.metadata["text_1"]), want = try #require(e.metadata["text_decoded_1"])
        for mode in [[], ["--eager"]] {
            let run = try CLITests.run(["generate", dir + "/model.json", "--tokenizer", dir + "/checkpoint", "--text", text,
                                        "--max-new-tokens", "8", "--num-beams", "1"] + mode)
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.split(separator: "\n").contains { $0 == want }, "\(mode): \(run.output) (want \(want))")
        }
    }
}
