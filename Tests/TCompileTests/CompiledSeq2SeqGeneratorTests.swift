import Foundation
import Testing
import TCompile
import Transformers

/// Compiled encoder-decoder generation (`CompiledSeq2SeqGenerator`: encoder + decoder-step graphs,
/// JIT) picks the same tokens as eager `generate` and as transformers' `model.generate`
/// (`scripts/fixtures/seq2seq_fixtures.py`, `marian_fixtures.py`) on BART, T5 v1.0 / v1.1 and Marian: greedy with the logits
/// processors, beam search, sampling, with and without the cache; and refuses what is beyond its bounds.
@Suite(.serialized) struct CompiledSeq2SeqGeneratorTests {
    /// The fixture's two sources (the second is 6 tokens, padded to 9 in the file).
    static func sources(_ e: SafeTensorsFile) throws -> [[Int]] {
        let ids = try e.tensor("input_ids").toIntArray(), mask = try e.tensor("attention_mask").toIntArray()
        let width = try e.tensor("input_ids").size(1)
        return (0..<(ids.count / width)).map { r in
            Array(ids[(r * width)..<(r * width + mask[(r * width)..<((r + 1) * width)].reduce(0, +))])
        }
    }

    static func rows(_ t: Tensor) -> [[Int]] {
        let v = t.toIntArray(), w = t.size(1)
        return (0..<t.size(0)).map { Array(v[($0 * w)..<(($0 + 1) * w)]) }
    }

    static func padded(_ rows: [[Int]], to width: Int, pad: Int) -> [[Int]] {
        rows.map { $0 + Array(repeating: pad, count: max(0, width - $0.count)) }
    }

    /// BART's fixture options (`GENERATIONS` in the script): EOS 2, pad 1.
    static let bartConfigs: [(String, GenerationConfig)] = {
        func config(_ beams: Int, _ edit: (inout GenerationConfig) -> Void) -> GenerationConfig {
            var c = GenerationConfig(maxNewTokens: 10, eosTokenIds: [2], padTokenId: 1)
            c.numBeams = beams
            edit(&c)
            return c
        }
        return [
            ("greedy", config(1) { _ in }),
            ("greedy_min", config(1) { $0.minNewTokens = 6 }),
            ("greedy_forced", config(1) { $0.forcedBosTokenId = 0; $0.forcedEosTokenIds = [2]; $0.maxNewTokens = 7 }),
            ("greedy_ngram", config(1) { $0.noRepeatNgramSize = 2; $0.repetitionPenalty = 1.3; $0.maxNewTokens = 14 }),
            ("beam", config(3) { $0.lengthPenalty = 0.7; $0.earlyStopping = .whenFull }),
            ("beam_nonearly", config(3) { $0.lengthPenalty = 1.4; $0.earlyStopping = .heuristic; $0.maxNewTokens = 12 }),
            ("beam_never", config(3) { $0.earlyStopping = .never; $0.minNewTokens = 3 }),
            ("beam_ngram", config(3) { $0.noRepeatNgramSize = 2; $0.numReturnSequences = 2; $0.maxNewTokens = 12 }),
        ]
    }()

    /// T5's fixture options: EOS 1, pad 0; greedy and 3 beams returning 2.
    static let t5Configs: [(String, GenerationConfig)] = {
        let greedy = GenerationConfig(maxNewTokens: 10, eosTokenIds: [1], padTokenId: 0)
        var beam = greedy
        beam.numBeams = 3
        beam.lengthPenalty = 0.7
        beam.numReturnSequences = 2
        return [("greedy", greedy), ("beam", beam)]
    }()

    /// Marian's (`marian_fixtures.py`): EOS 0, pad (and decoder start) 75; greedy and 3 beams returning 2.
    static let marianConfigs: [(String, GenerationConfig)] = {
        let greedy = GenerationConfig(maxNewTokens: 10, eosTokenIds: [0], padTokenId: 75)
        var beam = greedy
        beam.numBeams = 3
        beam.lengthPenalty = 0.7
        beam.earlyStopping = .whenFull
        beam.numReturnSequences = 2
        return [("greedy", greedy), ("beam", beam)]
    }()

    /// The fixture's options and pad id.
    static func configs(_ name: String) -> (configs: [(String, GenerationConfig)], pad: Int) {
        name.hasPrefix("t5") ? (t5Configs, 0) : name.hasPrefix("marian") ? (marianConfigs, 75) : (bartConfigs, 1)
    }

    @Test(arguments: ["bart-lm", "bart-scaled", "mbart-lm", "t5-v1_0", "t5-v1_1", "marian-mt"])
    func compiledTokensEqualEagerAndTransformers(_ name: String) throws {
        let model = try Seq2SeqGraphsTests.model(name), e = try Seq2SeqGraphsTests.expected(name)
        let compiled = try CompiledSeq2SeqGenerator(model: model, maxBatch: 6, maxSource: 12, maxTarget: 16)
        let sources = try Self.sources(e)
        let (configs, pad) = Self.configs(name)
        for (key, config) in configs {
            let want = Self.rows(try e.tensor("generate_" + key))
            let native = try compiled.generate(sources, config: config)
            #expect(Self.padded(native, to: want[0].count, pad: pad) == want, "\(name) \(key): \(native)")
            #expect(try native == model.generate(sources, config: config), "\(name) \(key)")
            var uncached = config
            uncached.useCache = false
            #expect(try compiled.generate(sources, config: uncached) == native, "\(name) \(key) without the cache")
        }
        // One source at a time gives the batch's tokens; seeded sampling gives eager's.
        let greedy = configs[0].1
        for (i, source) in sources.enumerated() {
            #expect(try compiled.generate([source], config: greedy)[0] == model.generate(sources, config: greedy)[i])
        }
        var sampling = greedy
        sampling.doSample = true
        sampling.temperature = 0.8
        sampling.topK = 20
        sampling.topP = 0.9
        sampling.seed = 7
        #expect(try compiled.generate(sources, config: sampling) == model.generate(sources, config: sampling))
    }

    /// Beyond the compiled bounds: errors naming the bound, not a crash.
    @Test func boundsAreNamed() throws {
        let model = try Seq2SeqGraphsTests.model("bart-lm")
        let compiled = try CompiledSeq2SeqGenerator(model: model, maxBatch: 4, maxSource: 8, maxTarget: 8)
        var beams = GenerationConfig(maxNewTokens: 4, eosTokenIds: [2], padTokenId: 1)
        beams.numBeams = 3
        #expect { _ = try compiled.generate([[0, 5, 2], [0, 6, 2]], config: beams) } throws: {
            "\($0)".contains("num_beams") && "\($0)".contains("at most 4 (maxBatch)")
        }
        #expect { _ = try compiled.generate([Array(repeating: 5, count: 9)], config: .greedy(maxNewTokens: 4)) } throws: {
            "\($0)".contains("9 tokens") && "\($0)".contains("compiled source bound (maxSource) 8")
        }
        #expect { _ = try compiled.generate([[0, 5, 2]], config: .greedy(maxNewTokens: 8)) } throws: {
            "\($0)".contains("max_new_tokens") && "\($0)".contains("compiled target bound (maxTarget) 8")
        }
        #expect(try compiled.generate([[0, 5, 2]], config: .greedy(maxNewTokens: 7)) == model.generate([[0, 5, 2]], config: .greedy(maxNewTokens: 7)))
    }
}
