import Foundation
import Testing
import TCompile
import Transformers

/// Compiled generation (prefill + decode-step graphs, JIT) picks the same tokens as eager `generate`
/// on the tiny GPT-2 fixture: greedy single prompts, a left-padded batch, and seeded sampling.
@Suite(.serialized) struct CompiledGeneratorTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures/gpt2-lm").standardized

    @Test func compiledTokensEqualEagerTokens() throws {
        let model = try GPT2LMHeadModel.fromPretrained(directory: Self.fixture)
        let compiled = try CompiledGenerator(model: model, maxBatch: 3, maxLength: 40)
        #expect(compiled.decodeGraph.symbols.map(\.name).sorted() == ["batch", "past"])

        // Greedy, one prompt: generation runs to maxNewTokens unless EOS (id 98) comes first.
        for prompt in [[5, 17, 33], [60, 2, 9, 81, 44, 12, 7]] {
            let greedy = GenerationConfig.greedy(maxNewTokens: 24)
            let eager = try model.generate([prompt], config: greedy)
            let native = try compiled.generate([prompt], config: greedy)
            #expect(native == eager, "prompt \(prompt)")
            #expect(!eager[0].isEmpty)
        }

        // A batch of different lengths (left-padded, masked), greedy and sampled, with and without the cache.
        let prompts = [[5, 17, 33], [60, 2, 9, 81, 44], [7]]
        var config = GenerationConfig.greedy(maxNewTokens: 16)
        config.padTokenId = 98
        #expect(try compiled.generate(prompts, config: config) == model.generate(prompts, config: config))
        config.useCache = false
        #expect(try compiled.generate(prompts, config: config) == model.generate(prompts, config: config))
        let sampling = GenerationConfig(maxNewTokens: 16, doSample: true, temperature: 0.9, topK: 20, topP: 0.95, seed: 3)
        #expect(try compiled.generate(prompts, config: sampling) == model.generate(prompts, config: sampling))

        // Beyond the compiled bounds: an error naming the argument, not a crash.
        #expect(throws: TransformersError.self) { try compiled.generate([[1, 2]], config: .greedy(maxNewTokens: 39)) }
        #expect(throws: TransformersError.self) { try compiled.generate([[1], [2], [3], [4]], config: .greedy(maxNewTokens: 2)) }
        var beams = GenerationConfig.greedy(maxNewTokens: 2)
        beams.numBeams = 2
        #expect { try compiled.generate([[1, 2]], config: beams) } throws: { "\($0)".contains("num_beams") }
    }

    /// The Llama-style decoders (GQA, rotary positions from the mask, Mistral's sliding window):
    /// compiled greedy tokens equal eager ones, which equal transformers' (DecoderFamiliesTests).
    @Test(arguments: ["llama-lm", "mistral-lm"])
    func llamaStyleCompiledTokensEqualEager(_ name: String) throws {
        let directory = Self.fixture.deletingLastPathComponent().appendingPathComponent(name)
        let model = try LlamaForCausalLM.fromPretrained(directory: directory)
        let compiled = try CompiledGenerator(model: model, maxBatch: 2, maxLength: 24)
        let prompts = [[5, 17, 33], [60, 2, 9, 81, 44, 7]]
        var config = GenerationConfig.greedy(maxNewTokens: 12)
        config.padTokenId = 0
        config.eosTokenIds = []
        #expect(try compiled.generate(prompts, config: config) == model.generate(prompts, config: config))
    }
}
