import Foundation
import Testing
import Tensors
@testable import Transformers

@Suite struct GenerationTests {
    func model() throws -> GPT2LMHeadModel { try GPT2LMHeadModel.fromPretrained(directory: fixtureDirectory("gpt2-lm")) }

    @Test func incrementalDecodingEqualsFullRecomputation() throws {
        let model = try model()
        let ids = Tensor.randint(0, 97, shape: [2, 9], seed: 5)
        let full = try model(DecoderInputs(inputIds: ids)).logits
        let cache = DynamicKVCache(layers: model.config.nLayer)
        var pieces = [try model(DecoderInputs(inputIds: ids.sliced(dim: 1, end: 4)), cache: cache).logits]
        for t in 4..<9 {
            #expect(cache.offset == t)
            pieces.append(try model(DecoderInputs(inputIds: ids.sliced(dim: 1, start: t, end: t + 1)), cache: cache).logits)
        }
        expectClose(Tensor.concat(pieces, dim: 1), full, 1e-5, "cached vs full logits")
    }

    @Test func cachedAndUncachedGenerationAgree() throws {
        let model = try model()
        let prompts = [[5, 17, 33], [60, 2, 9, 81, 44]]
        var config = GenerationConfig.greedy(maxNewTokens: 10)
        config.padTokenId = 98
        let cached = try model.generate(prompts, config: config)
        config.useCache = false
        #expect(try model.generate(prompts, config: config) == cached)
    }

    @Test func samplingIsSeededAndFiltered() throws {
        let model = try model()
        var config = GenerationConfig(maxNewTokens: 12, doSample: true, temperature: 0.8, topK: 10, topP: 0.9, seed: 7)
        let a = try model.generate([[1, 2, 3]], config: config)
        #expect(try model.generate([[1, 2, 3]], config: config) == a)
        config.seed = 8
        let b = try model.generate([[1, 2, 3]], config: config)
        #expect(a[0].count == 12 && b[0].count == 12)
        // top-k 1 is greedy.
        config.topK = 1
        #expect(try model.generate([[1, 2, 3]], config: config) == model.generate([[1, 2, 3]], config: .greedy(maxNewTokens: 12)))
    }

    @Test func badGenerationArgumentsThrow() throws {
        let model = try model()
        #expect(throws: TransformersError.self) { try model.generate([[1, 200]]) }
        #expect(throws: TransformersError.self) { try model.generate([[1]], config: .greedy(maxNewTokens: 64)) }
        #expect(throws: TransformersError.self) { try model.generate([[]]) }
        #expect(throws: TransformersError.self) { try model.generate([[1]], config: GenerationConfig(temperature: 0)) }
        #expect(throws: TransformersError.self) { try model.generate([[1]], config: GenerationConfig(topP: 1.5)) }
    }
}
