import Foundation
import Testing
import Tensors
@testable import Transformers

/// Hostile `GenerationConfig` values and prompts (issue #21's fresh hostile set) on the GPT-2 fixture
/// (vocabulary 99, 64 positions): each is refused with a `TransformersError` naming the argument, or
/// gives the result its definition (transformers' `generate`) implies — never a trap, a hang or ids
/// outside the vocabulary.
@Suite struct HostileGenerationTests {
    func loadModel() throws -> GPT2LMHeadModel { try GPT2LMHeadModel.fromPretrained(directory: fixtureDirectory("gpt2-lm")) }

    static func sampling(_ change: (inout GenerationConfig) -> Void) -> GenerationConfig {
        var config = GenerationConfig(maxNewTokens: 6, doSample: true, seed: 11)
        change(&config)
        return config
    }

    static func greedy(_ change: (inout GenerationConfig) -> Void) -> GenerationConfig {
        var config = GenerationConfig.greedy(maxNewTokens: 6)
        change(&config)
        return config
    }

    @Test func refusedValuesNameTheirArgument() throws {
        let model = try loadModel()
        let cases: [(String, GenerationConfig, [[Int]])] = [
            ("temperature", Self.sampling { $0.temperature = -1 }, [[1, 2]]),
            ("temperature", Self.sampling { $0.temperature = .nan }, [[1, 2]]),
            ("temperature", Self.sampling { $0.temperature = -.infinity }, [[1, 2]]),
            ("temperature", Self.sampling { $0.temperature = 0 }, [[1, 2]]),
            ("top_p", Self.sampling { $0.topP = 0 }, [[1, 2]]),
            ("top_p", Self.sampling { $0.topP = .nan }, [[1, 2]]),
            ("top_p", Self.sampling { $0.topP = 1.0001 }, [[1, 2]]),
            ("top_k", Self.sampling { $0.topK = -1 }, [[1, 2]]),
            ("top_k", Self.sampling { $0.topK = .min }, [[1, 2]]),
            ("max_new_tokens", Self.greedy { $0.maxNewTokens = -1 }, [[1, 2]]),
            ("max_new_tokens", Self.greedy { $0.maxNewTokens = .max }, [[1, 2]]),
            ("max_new_tokens", Self.greedy { $0.maxNewTokens = 63 }, [[1, 2]]),
            ("num_beams", Self.greedy { $0.numBeams = 0 }, [[1, 2]]),
            ("num_beams", Self.greedy { $0.numBeams = .max }, [[1, 2]]),
            ("num_beams", Self.sampling { $0.numBeams = 2 }, [[1, 2]]),
            ("num_return_sequences", Self.greedy { $0.numBeams = 2; $0.numReturnSequences = 3 }, [[1, 2]]),
            ("num_return_sequences", Self.greedy { $0.numReturnSequences = 0 }, [[1, 2]]),
            ("length_penalty", Self.greedy { $0.numBeams = 2; $0.lengthPenalty = .nan }, [[1, 2]]),
            ("length_penalty", Self.greedy { $0.numBeams = 2; $0.lengthPenalty = .infinity }, [[1, 2]]),
            ("repetition_penalty", Self.greedy { $0.repetitionPenalty = 0 }, [[1, 2]]),
            ("repetition_penalty", Self.greedy { $0.repetitionPenalty = -2 }, [[1, 2]]),
            ("repetition_penalty", Self.greedy { $0.repetitionPenalty = .nan }, [[1, 2]]),
            ("no_repeat_ngram_size", Self.greedy { $0.noRepeatNgramSize = -1 }, [[1, 2]]),
            ("min_new_tokens", Self.greedy { $0.minNewTokens = -3 }, [[1, 2]]),
            ("bad_words_ids", Self.greedy { $0.badWordsIds = [[]] }, [[1, 2]]),
            ("bad_words_ids", Self.greedy { $0.badWordsIds = [[-1]] }, [[1, 2]]),
            ("bad_words_ids", Self.greedy { $0.badWordsIds = [[5, 99]] }, [[1, 2]]),
            ("forced_bos_token_id", Self.greedy { $0.forcedBosTokenId = -1 }, [[1, 2]]),
            ("forced_bos_token_id", Self.greedy { $0.forcedBosTokenId = 99 }, [[1, 2]]),
            ("forced_eos_token_id", Self.greedy { $0.forcedEosTokenIds = [] }, [[1, 2]]),
            ("forced_eos_token_id", Self.greedy { $0.forcedEosTokenIds = [Int.max] }, [[1, 2]]),
            ("pad_token_id", Self.greedy { $0.padTokenId = -1 }, [[1, 2]]),
            ("pad_token_id", Self.greedy { $0.padTokenId = 99 }, [[1, 2]]),
            ("eos_token_id", Self.greedy { $0.eosTokenIds = [-1]; $0.padTokenId = 0 }, [[1, 2]]),
            ("prompts[0]", Self.greedy { _ in }, [[1, Int.min]]),
            ("prompts[1]", Self.greedy { _ in }, [[1, 2], [Int.max]]),
            ("prompts[0]", Self.greedy { _ in }, [[]]),
        ]
        for (argument, config, prompts) in cases {
            do {
                let out = try model.generate(prompts, config: config)
                Issue.record("\(argument): \(config) was accepted and gave \(out)")
            } catch {
                #expect("\(error)".contains(argument), "\(argument): \(error)")
            }
        }
        // An empty batch is no work: no rows out.
        #expect(try model.generate([], config: .greedy(maxNewTokens: 2)) == [])
    }

    /// Valid extremes give what their definition says.
    @Test func extremeValidValuesGiveTheirDefinedResult() throws {
        let model = try loadModel()
        let prompt = [[5, 17, 33]]
        let greedy = try model.generate(prompt, config: Self.greedy { _ in })
        // An n-gram longer than any sequence never repeats; top-k past the vocabulary keeps all of it.
        #expect(try model.generate(prompt, config: Self.greedy { $0.noRepeatNgramSize = .max }) == greedy)
        #expect(try model.generate(prompt, config: Self.sampling { $0.topK = .max })
            == model.generate(prompt, config: Self.sampling { $0.topK = 0 }))
        // top-p keeps at least the most likely token: a tiny top-p samples the greedy choice.
        #expect(try model.generate(prompt, config: Self.sampling { $0.topP = 1e-9 }) == greedy)
        // No new tokens; more minimum tokens than maximum ones stops at the maximum.
        #expect(try model.generate(prompt, config: Self.greedy { $0.maxNewTokens = 0 }) == [[]])
        let forced = try model.generate(prompt, config: Self.greedy { $0.minNewTokens = 1000; $0.eosTokenIds = greedy[0].prefix(1).map { $0 } })
        #expect(forced[0].count == 6 && !forced[0].contains(greedy[0][0]), "\(forced)")
        // An infinite temperature flattens the distribution; a vanishing one must not turn it into NaN.
        for temperature in [Float.infinity, 1e-30, .leastNonzeroMagnitude] {
            let out = try model.generate(prompt, config: Self.sampling { $0.temperature = temperature })
            #expect(out[0].count <= 6 && out[0].allSatisfy { (0..<99).contains($0) }, "temperature \(temperature): \(out)")
        }
        let cold = try model.generate(prompt, config: Self.sampling { $0.temperature = 1e-30 })
        #expect(cold == greedy, "a near-zero temperature samples the most likely token: \(cold) vs \(greedy)")
        // A huge repetition penalty only pushes repeated tokens down; beams with a huge length penalty run.
        let penalized = try model.generate(prompt, config: Self.greedy { $0.repetitionPenalty = 1e30 })
        #expect(penalized[0].allSatisfy { (0..<99).contains($0) })
        let beams = try model.generate(prompt, config: Self.greedy { $0.numBeams = 3; $0.lengthPenalty = -1e30 })
        #expect(beams[0].allSatisfy { (0..<99).contains($0) })
    }
}

/// Hostile decoder configs of the fresh hostile set that reached a trap or were silently wrong.
@Suite struct HostileDecoderConfigTests {
    /// `sliding_window: 2^62` trapped (`rows - window` became a float op, compared with int64 keys).
    /// A window longer than any sequence masks nothing: the logits equal those of a window of 64
    /// (the fixture's whole position table).
    @Test func aHugeSlidingWindowIsNoWindow() throws {
        let ids = Tensor([5, 9, 2, 7, 7, 1, 3, 8, 4, 6], shape: [1, 10])
        func logits(_ window: Int) throws -> Tensor {
            let dir = try editedCheckpoint("mistral-lm", config: { $0["sliding_window"] = window })
            defer { try? FileManager.default.removeItem(at: dir) }
            return try LlamaForCausalLM.fromPretrained(directory: dir)(DecoderInputs(inputIds: ids)).logits
        }
        expectClose(try logits(1 << 62), try logits(64), 0, "window 2^62 vs 64")
    }

    /// A Qwen2 `layer_types` entry other than full or sliding attention ran as full attention.
    @Test func unknownQwen2LayerTypesAreRefused() throws {
        let dir = try editedCheckpoint("qwen2-sliding", config: { $0["layer_types"] = ["full_attention", "chunked_attention"] })
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect { _ = try LlamaForCausalLM.fromPretrained(directory: dir) } throws: { "\($0)".contains("layer_types") && "\($0)".contains("chunked_attention") }
    }
}
