import Foundation
import Testing
import TCompile
import Transformers

/// The generating AOT library (`GeneratorLibrary`: prefill + decode-step kernels and the `NAME_gen_*`
/// state API in one `libNAME.a`), linked into C programs with `cc … -lNAME -lm`: its tokens equal eager
/// `generate` and Hugging Face's `model.generate` (the fixtures), greedy and seeded sampling; several
/// states run concurrently on one model; bad input gets a status and a message naming the numbers.
@Suite(.serialized) struct GeneratorLibraryTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures").standardized

    /// Runs each job (its own state) on its own thread on one model and prints, per job, its status
    /// and the streamed tokens; checks that the state's ids are the prompt then the streamed tokens.
    /// Arguments: weights threads max_new stops(default|none|ID) sample temperature top_k top_p seed ids…
    static let driver = #"""
    #include "MODEL.h"
    #include <pthread.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>

    typedef struct {
        const MODEL_model *model;
        int sample, stops;
        int64_t stop;
        long long top_k, max_new, count, n;
        float temperature, top_p;
        unsigned long long seed;
        int64_t prompt[64], streamed[64];
        int status;
    } job;

    static int collect(int64_t token, void *user) {
        job *j = user;
        if (j->n < 64) j->streamed[j->n] = token;
        j->n++;
        return 0;
    }

    static void *work(void *arg) {
        job *j = arg;
        MODEL_gen *gen;
        int s = MODEL_gen_create(j->model, 0, &gen);
        if (s) { j->status = s; return NULL; }
        if (j->sample) s = MODEL_gen_set_sampling(gen, j->temperature, j->top_k, j->top_p, j->seed);
        if (!s && j->stops == 0) s = MODEL_gen_set_stop_tokens(gen, NULL, 0);
        if (!s && j->stops == 2) s = MODEL_gen_set_stop_tokens(gen, &j->stop, 1);
        if (!s) s = MODEL_gen_prompt(gen, j->prompt, j->count);
        int64_t generated = -1;
        if (!s) s = MODEL_gen_run(gen, j->max_new, collect, j, &generated);
        if (!s) {
            int64_t length = MODEL_gen_length(gen), ids[128];
            if (length != j->count + generated || generated != j->n || MODEL_gen_ids(gen, ids, 128) != 0
                || memcmp(ids, j->prompt, 8 * j->count) != 0 || memcmp(ids + j->count, j->streamed, 8 * generated) != 0) s = 99;
        }
        if (s) fprintf(stderr, "%s\n", MODEL_gen_last_error(gen));
        j->status = s;
        MODEL_gen_destroy(gen);
        return NULL;
    }

    int main(int argc, char **argv) {
        if (argc < 11) return 2;
        MODEL_model *model;
        int s = MODEL_create(argv[1], &model);
        if (s) { fprintf(stderr, "create: %s\n", MODEL_error_message(s)); return 1; }
        int threads = atoi(argv[2]);
        job *jobs = calloc(threads, sizeof(job));
        pthread_t *ids = calloc(threads, sizeof(pthread_t));
        for (int t = 0; t < threads; t++) {
            job *j = &jobs[t];
            j->model = model;
            j->max_new = atoll(argv[3]);
            j->stops = strcmp(argv[4], "default") == 0 ? 1 : strcmp(argv[4], "none") == 0 ? 0 : 2;
            j->stop = atoll(argv[4]);
            j->sample = atoi(argv[5]);
            j->temperature = (float)atof(argv[6]);
            j->top_k = atoll(argv[7]);
            j->top_p = (float)atof(argv[8]);
            j->seed = strtoull(argv[9], NULL, 10);
            for (int i = 10; i < argc && i < 74; i++) j->prompt[j->count++] = atoll(argv[i]);
            pthread_create(&ids[t], NULL, work, j);
        }
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
        for (int t = 0; t < threads; t++) {
            printf("%d:", jobs[t].status);
            for (long long i = 0; i < jobs[t].n && i < 64; i++) printf(" %lld", (long long)jobs[t].streamed[i]);
            printf("\n");
        }
        MODEL_destroy(model);
        return 0;
    }
    """#

    /// Every refusal of the generation API, printed as `what status message`.
    static let probe = #"""
    #include "MODEL.h"
    #include <stdio.h>

    static int stop_after_two(int64_t token, void *user) { (void)token; return ++*(int *)user >= 2; }

    int main(int argc, char **argv) {
        (void)argc;
        MODEL_model *model;
        if (MODEL_create(argv[1], &model)) return 1;
        MODEL_gen *gen = NULL, *small = NULL;
        printf("create_null_model %d\n", MODEL_gen_create(NULL, 0, &gen));
        printf("create_null_out %d\n", MODEL_gen_create(model, 0, NULL));
        printf("create_over_bound %d\n", MODEL_gen_create(model, UPPER_GEN_MAX_LENGTH + 1, &gen));
        if (MODEL_gen_create(model, 0, &gen)) return 1;
        printf("step_without_prompt %d %s\n", MODEL_gen_step(gen, NULL), MODEL_gen_last_error(gen));
        int64_t outside[2] = {1, UPPER_GEN_VOCAB_SIZE}, negative[1] = {-1}, prompt[3] = {5, 17, 33}, ids[4];
        printf("prompt_outside_vocab %d %s\n", MODEL_gen_prompt(gen, outside, 2), MODEL_gen_last_error(gen));
        printf("prompt_negative_id %d %s\n", MODEL_gen_prompt(gen, negative, 1), MODEL_gen_last_error(gen));
        printf("prompt_null %d\n", MODEL_gen_prompt(gen, NULL, 1));
        printf("prompt_empty %d\n", MODEL_gen_prompt(gen, prompt, 0));
        printf("prompt_null_state %d\n", MODEL_gen_prompt(NULL, prompt, 3));
        printf("prompt_ok %d\n", MODEL_gen_prompt(gen, prompt, 3));
        printf("run_over_bound %d %s\n", MODEL_gen_run(gen, UPPER_GEN_MAX_LENGTH - 2, NULL, NULL, NULL), MODEL_gen_last_error(gen));
        printf("length_after_refusal %lld\n", (long long)MODEL_gen_length(gen));
        printf("run_negative %d\n", MODEL_gen_run(gen, -1, NULL, NULL, NULL));
        printf("run_null_state %d\n", MODEL_gen_run(NULL, 1, NULL, NULL, NULL));
        printf("temperature_zero %d %s\n", MODEL_gen_set_sampling(gen, 0.0f, 0, 1.0f, 1), MODEL_gen_last_error(gen));
        printf("top_k_negative %d %s\n", MODEL_gen_set_sampling(gen, 1.0f, -1, 1.0f, 1), MODEL_gen_last_error(gen));
        printf("top_p_above_one %d %s\n", MODEL_gen_set_sampling(gen, 1.0f, 0, 1.5f, 1), MODEL_gen_last_error(gen));
        printf("stops_too_many %d %s\n", MODEL_gen_set_stop_tokens(gen, prompt, UPPER_GEN_MAX_STOP_TOKENS + 1), MODEL_gen_last_error(gen));
        printf("stops_outside_vocab %d %s\n", MODEL_gen_set_stop_tokens(gen, outside, 2), MODEL_gen_last_error(gen));
        printf("stops_none %d\n", MODEL_gen_set_stop_tokens(gen, NULL, 0));
        int calls = 0;
        int64_t generated = 0;
        int status = MODEL_gen_run(gen, 5, stop_after_two, &calls, &generated);
        printf("callback_stops %d %lld\n", status, (long long)generated);
        printf("ids_small_buffer %d\n", MODEL_gen_ids(gen, ids, 4));
        status = MODEL_gen_reset(gen);
        printf("reset %d %lld\n", status, (long long)MODEL_gen_length(gen));
        printf("step_after_reset %d\n", MODEL_gen_step(gen, NULL));
        if (MODEL_gen_create(model, 8, &small)) return 1;
        MODEL_gen_set_stop_tokens(small, NULL, 0);
        MODEL_gen_prompt(small, prompt, 3);
        printf("small_run_over %d %s\n", MODEL_gen_run(small, 6, NULL, NULL, NULL), MODEL_gen_last_error(small));
        status = MODEL_gen_run(small, 5, NULL, NULL, NULL);
        printf("small_run_fill %d %lld\n", status, (long long)MODEL_gen_length(small));
        printf("small_step_full %d %s\n", MODEL_gen_step(small, NULL), MODEL_gen_last_error(small));
        printf("length_null %lld\n", (long long)MODEL_gen_length(NULL));
        MODEL_gen_destroy(small);
        MODEL_gen_destroy(gen);
        MODEL_gen_destroy(NULL);
        MODEL_destroy(model);
        return 0;
    }
    """#

    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// A generating library of `model` in a fresh directory, with the driver and the probe built against it.
    static func build(_ model: some CausalLanguageModel, name: String, maxLength: Int) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tcompile-gen-\(UUID().uuidString)").path
        _ = try GeneratorLibrary.write(model: model, name: name, maxLength: maxLength, to: dir, options: CompileOptions(threads: 2))
        for (file, source) in [("driver.c", driver), ("probe.c", probe)] {
            try source.replacingOccurrences(of: "MODEL", with: name).replacingOccurrences(of: "UPPER", with: name.uppercased()).write(toFile: "\(dir)/\(file)", atomically: true, encoding: .utf8)
            let program = (file as NSString).deletingPathExtension
            let log = try shell("cd \(dir) && cc -std=c11 -Wall -Werror -pthread -o \(program) \(file) -L. -l\(name) -lm 2>&1")
            #expect(log.isEmpty, "cc \(file): \(log)")
        }
        return dir
    }

    /// The tokens each thread of the driver generated.
    static func generate(_ dir: String, name: String, prompt: [Int], maxNew: Int, stops: String = "default", threads: Int = 1,
                         sampling: (temperature: Float, topK: Int, topP: Float, seed: UInt64)? = nil) throws -> [[Int]] {
        let s = sampling.map { "1 \($0.temperature) \($0.topK) \($0.topP) \($0.seed)" } ?? "0 1 0 1 0"
        let output = try shell("cd \(dir) && ./driver \(name).weights \(threads) \(maxNew) \(stops) \(s) \(prompt.map(String.init).joined(separator: " ")) 2>&1")
        let lines = output.split(separator: "\n")
        #expect(lines.count == threads, "driver: \(output)")
        return lines.map { line in
            #expect(line.hasPrefix("0:"), "driver: \(line)")
            return line.split(separator: " ").dropFirst().compactMap { Int($0) }
        }
    }

    @Test func gpt2GreedyAndSampledTokensEqualEagerAndTransformers() throws {
        let directory = Self.fixtures.appendingPathComponent("gpt2-lm")
        let model = try GPT2LMHeadModel.fromPretrained(directory: directory)
        let dir = try Self.build(model, name: "gpt2gen", maxLength: 40)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let header = try String(contentsOfFile: "\(dir)/gpt2gen.h", encoding: .utf8)
        #expect(header.contains("#define GPT2GEN_GEN_MAX_LENGTH 40"))
        #expect(header.contains("int gpt2gen_gen_run("))
        #expect(header.contains("gpt2gen_prefill_run(") && header.contains("gpt2gen_decode_step_run("))

        // Hugging Face's greedy tokens (the fixture), with the config's EOS as the default stop.
        let e = try SafeTensorsFile(path: directory.appendingPathComponent("expected.safetensors").path)
        let hf = try e.tensor("greedy_output")
        let hfPrompts = try e.tensor("greedy_prompt")
        for row in 0..<hfPrompts.size(0) {
            let prompt = Array(hfPrompts.toIntArray()[(row * hfPrompts.size(1))..<((row + 1) * hfPrompts.size(1))])
            let want = Array(hf.toIntArray()[(row * hf.size(1))..<((row + 1) * hf.size(1))])
            #expect(try Self.generate(dir, name: "gpt2gen", prompt: prompt, maxNew: 20) == [want])
        }
        let eos = try #require(Int(e.metadata["eos_token_id"] ?? ""))
        let eosOutput = try e.tensor("eos_output")
        let firstPrompt = Array(hfPrompts.toIntArray()[0..<hfPrompts.size(1)])
        let stopped = try Self.generate(dir, name: "gpt2gen", prompt: firstPrompt, maxNew: 20, stops: String(eos))
        #expect(stopped == [Array(eosOutput.toIntArray()[0..<eosOutput.size(1)])])
        #expect(stopped.first?.last == eos)

        // Eager generate, greedy and seeded sampling (temperature, top-k, top-p), several prompts.
        for prompt in [[5, 17, 33], [60, 2, 9, 81, 44, 12, 7], [1]] {
            let eager = try model.generate([prompt], config: .greedy(maxNewTokens: 24))
            #expect(try Self.generate(dir, name: "gpt2gen", prompt: prompt, maxNew: 24) == eager, "greedy \(prompt)")
            for (t, k, p, seed) in [(Float(0.9), 20, Float(0.95), UInt64(3)), (1.0, 0, 1.0, 7), (0.7, 5, 1.0, 11), (1.3, 0, 0.8, 12345)] {
                let config = GenerationConfig(maxNewTokens: 16, doSample: true, temperature: t, topK: k, topP: p, seed: seed)
                let eager = try model.generate([prompt], config: config)
                let native = try Self.generate(dir, name: "gpt2gen", prompt: prompt, maxNew: 16, sampling: (t, k, p, seed))
                #expect(native == eager, "sampling t=\(t) k=\(k) p=\(p) seed=\(seed) prompt \(prompt)")
            }
        }
    }

    /// Eight states on one model at once, on eight threads, greedy and sampling: each sequence equals
    /// the one a lone state generates.
    @Test func concurrentStatesOnOneModelAgree() throws {
        let model = try GPT2LMHeadModel.fromPretrained(directory: Self.fixtures.appendingPathComponent("gpt2-lm"))
        let dir = try Self.build(model, name: "gpt2gen", maxLength: 40)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let prompt = [60, 2, 9, 81, 44]
        let alone = try Self.generate(dir, name: "gpt2gen", prompt: prompt, maxNew: 30, stops: "none")
        #expect(try Self.generate(dir, name: "gpt2gen", prompt: prompt, maxNew: 30, stops: "none", threads: 8) == Array(repeating: alone[0], count: 8))
        let sampling = (temperature: Float(0.9), topK: 0, topP: Float(0.9), seed: UInt64(5))
        let sampledAlone = try Self.generate(dir, name: "gpt2gen", prompt: prompt, maxNew: 30, stops: "none", sampling: sampling)
        #expect(try Self.generate(dir, name: "gpt2gen", prompt: prompt, maxNew: 30, stops: "none", threads: 8, sampling: sampling)
                == Array(repeating: sampledAlone[0], count: 8))
    }

    /// The Llama-style decoders: greedy tokens equal `model.generate`'s (the fixtures, prompts without
    /// their left padding) and eager sampling.
    @Test(arguments: ["llama-lm", "mistral-lm", "qwen2-lm"])
    func llamaStyleTokensEqualTransformers(_ name: String) throws {
        let directory = Self.fixtures.appendingPathComponent(name)
        let model = try LlamaForCausalLM.fromPretrained(directory: directory)
        let dir = try Self.build(model, name: "lm", maxLength: 32)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try SafeTensorsFile(path: directory.appendingPathComponent("expected.safetensors").path)
        let ids = try e.tensor("greedy_prompt"), mask = try e.tensor("greedy_attention_mask"), want = try e.tensor("greedy_output")
        let width = ids.size(1), outWidth = want.size(1)
        for row in 0..<ids.size(0) {
            let prompt = zip(ids.toIntArray()[(row * width)..<((row + 1) * width)], mask.toIntArray()[(row * width)..<((row + 1) * width)])
                .filter { $0.1 == 1 }.map(\.0)
            let expected = Array(want.toIntArray()[(row * outWidth)..<((row + 1) * outWidth)])
            #expect(try Self.generate(dir, name: "lm", prompt: prompt, maxNew: 12, stops: "none") == [expected], "\(name) row \(row)")
        }
        let config = GenerationConfig(maxNewTokens: 12, doSample: true, temperature: 0.8, topK: 30, topP: 0.9, seed: 42)
        let prompt = [5, 17, 33, 8]
        #expect(try Self.generate(dir, name: "lm", prompt: prompt, maxNew: 12, sampling: (0.8, 30, 0.9, 42)) == model.generate([prompt], config: config))
    }

    @Test func badInputsGetStatusesAndMessages() throws {
        let model = try GPT2LMHeadModel.fromPretrained(directory: Self.fixtures.appendingPathComponent("gpt2-lm"))
        let dir = try Self.build(model, name: "gpt2gen", maxLength: 40)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = try Self.shell("cd \(dir) && ./probe gpt2gen.weights 2>&1")
        var lines: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            lines[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        let expectations: [(String, String)] = [
            ("create_null_model", "1"), ("create_null_out", "1"), ("create_over_bound", "3"),
            ("step_without_prompt", "1 no prompt: call gpt2gen_gen_prompt first"),
            ("prompt_outside_vocab", "2 prompt[1] = 99 is outside the vocabulary 0..<99"),
            ("prompt_negative_id", "2 prompt[0] = -1 is outside the vocabulary 0..<99"),
            ("prompt_null", "1"), ("prompt_empty", "1"), ("prompt_null_state", "1"), ("prompt_ok", "0"),
            ("run_over_bound", "3 3 tokens (prompt and earlier steps) + 38 new tokens exceed the length bound 40"),
            ("length_after_refusal", "3"), ("run_negative", "1"), ("run_null_state", "1"),
            ("temperature_zero", "1 temperature must be positive and finite, got 0"),
            ("top_k_negative", "1 top_k must not be negative, got -1"),
            ("top_p_above_one", "1 top_p must be in (0, 1], got 1.5"),
            ("stops_too_many", "1 17 stop tokens: give 0 to 16"),
            ("stops_outside_vocab", "2 stop_tokens[1] = 99 is outside the vocabulary 0..<99"),
            ("stops_none", "0"), ("callback_stops", "0 2"), ("ids_small_buffer", "1"), ("reset", "0 0"), ("step_after_reset", "1"),
            ("small_run_over", "3 3 tokens (prompt and earlier steps) + 6 new tokens exceed the length bound 8"),
            ("small_run_fill", "0 8"),
            ("small_step_full", "3 the sequence holds 8 tokens, the length bound 8: no room for another"),
            ("length_null", "-1"),
        ]
        for (key, want) in expectations { #expect(lines[key] == want, "\(key): \(lines[key] ?? "missing") in\n\(output)") }
    }

    /// A constant both graphs read is stored once: the generating library's weights are about one
    /// copy of the model's parameters, not two; and the output is deterministic.
    @Test func sharedConstantsAreStoredOnce() throws {
        let model = try GPT2LMHeadModel.fromPretrained(directory: Self.fixtures.appendingPathComponent("gpt2-lm"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tcompile-gen-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = try GeneratorLibrary.write(model: model, name: "gpt2gen", maxLength: 40, to: dir)
        let parameters = model.namedParameters().reduce(0) { $0 + $1.1.count * 4 }
        let oneGraph = output.signatures.map { $0.constants.count }.max() ?? 0
        #expect(output.signatures.count == 2)
        #expect(output.weightsBytes < parameters * 3 / 2, "weights \(output.weightsBytes) bytes for \(parameters) bytes of parameters")
        #expect(oneGraph > 0)
        // The same model gives byte-identical files.
        let again = dir + "-again"
        defer { try? FileManager.default.removeItem(atPath: again) }
        _ = try GeneratorLibrary.write(model: model, name: "gpt2gen", maxLength: 40, to: again)
        for file in ["libgpt2gen.a", "gpt2gen.h", "gpt2gen.weights", "module.modulemap"] {
            #expect(FileManager.default.contentsEqual(atPath: "\(dir)/\(file)", andPath: "\(again)/\(file)"), "\(file) differs")
        }
    }

    /// `tcompile MANIFEST --generate -o DIR` writes the generating library (the sample's program links
    /// and agrees with eager generate); a traced graph or another task is refused with the reason.
    @Test func cliWritesTheGeneratingLibrary() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tcompile-gen-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The manifest names its checkpoint relative to its own folder.
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/checkpoint", withDestinationPath: Self.fixtures.appendingPathComponent("gpt2-lm").path)
        let manifest = #"{"format": "tcompile.model/2", "name": "tiny", "checkpoint": "checkpoint", "task": "text-generation", "dynamic_dims": {"batch": {"max": 1}, "seq": {"max": 24}}}"#
        try manifest.write(toFile: "\(dir)/model.json", atomically: true, encoding: .utf8)
        let (status, output) = try CLITests.run(["\(dir)/model.json", "--generate", "-o", "\(dir)/lib"])
        #expect(status == 0, "\(output)")
        let header = try String(contentsOfFile: "\(dir)/lib/tiny.h", encoding: .utf8)
        #expect(header.contains("#define TINY_GEN_MAX_LENGTH 24"))
        let sample = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../samples/link-c/generate.c").standardized.path
        let source = try String(contentsOfFile: sample, encoding: .utf8).replacingOccurrences(of: "tinylm", with: "tiny")
            .replacingOccurrences(of: "TINYLM", with: "TINY")
        try source.write(toFile: "\(dir)/generate.c", atomically: true, encoding: .utf8)
        let log = try Self.shell("cd \(dir) && cc -std=c11 -Wall -Werror generate.c -I lib -L lib -ltiny -lm -o generate 2>&1")
        #expect(log.isEmpty, "cc: \(log)")
        let run = try Self.shell("cd \(dir) && ./generate lib/tiny.weights --max-new 10 5 17 33")
        let model = try GPT2LMHeadModel.fromPretrained(directory: Self.fixtures.appendingPathComponent("gpt2-lm"))
        let eager = try model.generate([[5, 17, 33]], config: .greedy(maxNewTokens: 10))[0]
        #expect(run.contains("new:    " + eager.map(String.init).joined(separator: " ") + "\n"), "\(run)")

        let wrongTask = manifest.replacingOccurrences(of: "text-generation", with: "feature-extraction")
        try wrongTask.write(toFile: "\(dir)/other.json", atomically: true, encoding: .utf8)
        let refused = try CLITests.run(["\(dir)/other.json", "--generate", "-o", "\(dir)/lib2"])
        #expect(refused.status != 0 && refused.output.contains("text-generation"), "\(refused.output)")
        try #"{"format": "tcompile.graph/1"}"#.write(toFile: "\(dir)/graph.json", atomically: true, encoding: .utf8)
        let traced = try CLITests.run(["\(dir)/graph.json", "--generate", "-o", "\(dir)/lib3"])
        #expect(traced.status != 0 && traced.output.contains("tcompile.model/2"), "\(traced.output)")

        // A manifest given by a relative path, naming its checkpoint with "..": resolved from the
        // manifest's folder (the leading ".." used to be dropped).
        try FileManager.default.createDirectory(atPath: "\(dir)/nested", withIntermediateDirectories: true)
        try manifest.replacingOccurrences(of: #""checkpoint": "checkpoint""#, with: #""checkpoint": "../checkpoint""#)
            .write(toFile: "\(dir)/nested/model.json", atomically: true, encoding: .utf8)
        let relative = Process()
        relative.executableURL = URL(fileURLWithPath: CLITests.binary)
        relative.arguments = ["model.json", "--generate", "-q", "-o", "lib"]
        relative.currentDirectoryURL = URL(fileURLWithPath: "\(dir)/nested")
        try relative.run()
        relative.waitUntilExit()
        #expect(relative.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/nested/lib/tiny.h"))

        // A checkpoint directory with --max-seq, and the refusals of the bound.
        let direct = try CLITests.run(["\(dir)/checkpoint", "--generate", "--max-seq", "20", "--name", "direct", "-o", "\(dir)/lib4"])
        #expect(direct.status == 0, "\(direct.output)")
        #expect(try String(contentsOfFile: "\(dir)/lib4/direct.h", encoding: .utf8).contains("#define DIRECT_GEN_MAX_LENGTH 20"))
        let tooLong = try CLITests.run(["\(dir)/checkpoint", "--generate", "--max-seq", "65", "-o", "\(dir)/lib5"])
        #expect(tooLong.status != 0 && tooLong.output.contains("--max-seq must be in 4...64"), "\(tooLong.output)")
        let manifestBound = try CLITests.run(["\(dir)/model.json", "--generate", "--max-seq", "20", "-o", "\(dir)/lib6"])
        #expect(manifestBound.status != 0 && manifestBound.output.contains("dynamic_dims.seq.max"), "\(manifestBound.output)")
    }

    /// Swift imports the generation API through the module map (`swiftc -I lib -L lib`): the
    /// callback is a C function pointer, the tokens equal eager `generate`'s.
    @Test func swiftImportsTheGenerationAPIThroughTheModuleMap() throws {
        let model = try GPT2LMHeadModel.fromPretrained(directory: Self.fixtures.appendingPathComponent("gpt2-lm"))
        let dir = try Self.build(model, name: "gpt2gen", maxLength: 40)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = """
        import gpt2gen

        var model: OpaquePointer?
        guard gpt2gen_create("gpt2gen.weights", &model) == GPT2GEN_OK else { fatalError("create") }
        var gen: OpaquePointer?
        guard gpt2gen_gen_create(model, 0, &gen) == GPT2GEN_OK else { fatalError("gen_create") }
        let prompt: [Int64] = [60, 2, 9]
        _ = gpt2gen_gen_prompt(gen, prompt, Int64(prompt.count))
        var generated: Int64 = 0
        let status = gpt2gen_gen_run(gen, 12, { token, _ in print(token, terminator: " "); return 0 }, nil, &generated)
        print("| status \\(status) generated \\(generated)")
        gpt2gen_gen_destroy(gen)
        gpt2gen_destroy(model)
        """
        try source.write(toFile: "\(dir)/main.swift", atomically: true, encoding: .utf8)
        let log = try Self.shell("cd \(dir) && swiftc -I . -L . main.swift -o swiftapp 2>&1")
        #expect(!log.contains("error"), "swiftc: \(log)")
        let output = try Self.shell("cd \(dir) && ./swiftapp")
        let eager = try model.generate([[60, 2, 9]], config: .greedy(maxNewTokens: 12))[0]
        #expect(output == eager.map(String.init).joined(separator: " ") + " | status 0 generated \(eager.count)\n", "\(output)")
    }

    /// The shipped tiny Llama-architecture model (samples/tiny-lm/model, trained in eager Swift):
    /// the library's greedy and sampled continuations equal eager `generate`'s, stopping at its EOS.
    @Test func shippedTinyLMGeneratesLikeEager() throws {
        let directory = URL(fileURLWithPath: #filePath).appendingPathComponent("../../../samples/tiny-lm/model").standardized
        let model = try LlamaForCausalLM.fromPretrained(directory: directory)
        let dir = try Self.build(model, name: "tinylm", maxLength: 64)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vocabulary = try String(contentsOf: directory.appendingPathComponent("vocab.txt"), encoding: .utf8).split(separator: "\n")
        let prompt = [try #require(vocabulary.firstIndex(of: "[CLS]")), try #require(vocabulary.firstIndex(of: "the")),
                      try #require(vocabulary.firstIndex(of: "striker"))]
        let greedy = try model.generate([prompt], config: .greedy(maxNewTokens: 30))
        #expect(greedy[0].last == model.config.common.eosTokenIds?.first, "a sentence ends with [SEP]: \(greedy)")
        #expect(try Self.generate(dir, name: "tinylm", prompt: prompt, maxNew: 30) == greedy)
        for seed in [UInt64(1), 7, 99] {
            let config = GenerationConfig(maxNewTokens: 30, doSample: true, temperature: 0.8, topK: 40, topP: 0.95, seed: seed)
            #expect(try Self.generate(dir, name: "tinylm", prompt: prompt, maxNew: 30, sampling: (0.8, 40, 0.95, seed))
                    == model.generate([prompt], config: config), "seed \(seed)")
        }
    }
}
