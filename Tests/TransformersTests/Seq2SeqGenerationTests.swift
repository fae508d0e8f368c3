import Foundation
import Testing
import Tensors
@testable import Transformers

/// Encoder-decoder generation against `model.generate` (`scripts/fixtures/seq2seq_fixtures.py`): the
/// fixture's right-padded batch of two sources, token for token, with the options of each fixture
/// entry (`generate_<name>`; the script stores them in the file's metadata).
@Suite struct Seq2SeqGenerationTests {
    /// The fixture's options, as `GENERATIONS` in the script spells them.
    static let greedy: [(String, GenerationConfig)] = {
        func config(_ edit: (inout GenerationConfig) -> Void) -> GenerationConfig {
            var c = GenerationConfig(maxNewTokens: 10, eosTokenIds: [2], padTokenId: 1)
            edit(&c)
            return c
        }
        return [
            ("greedy", config { _ in }),
            ("greedy_min", config { $0.minNewTokens = 6 }),
            ("greedy_forced", config { $0.forcedBosTokenId = 0; $0.forcedEosTokenIds = [2]; $0.maxNewTokens = 7 }),
            ("greedy_ngram", config { $0.noRepeatNgramSize = 2; $0.repetitionPenalty = 1.3; $0.maxNewTokens = 14 }),
        ]
    }()

    static let beams: [(String, GenerationConfig)] = {
        func config(_ edit: (inout GenerationConfig) -> Void) -> GenerationConfig {
            var c = GenerationConfig(maxNewTokens: 10, eosTokenIds: [2], padTokenId: 1)
            c.numBeams = 3
            edit(&c)
            return c
        }
        return [
            ("beam", config { $0.lengthPenalty = 0.7; $0.earlyStopping = .whenFull }),
            ("beam_nonearly", config { $0.lengthPenalty = 1.4; $0.earlyStopping = .heuristic; $0.maxNewTokens = 12 }),
            ("beam_never", config { $0.earlyStopping = .never; $0.minNewTokens = 3 }),
            ("beam_ngram", config { $0.noRepeatNgramSize = 2; $0.numReturnSequences = 2; $0.maxNewTokens = 12 }),
        ]
    }()

    @Test(arguments: ["bart-lm", "bart-scaled", "mbart-lm"])
    func beamSearchMatchesTransformers(_ name: String) throws {
        let e = try expected(name)
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory(name))
        for (key, config) in Self.beams {
            let want = rows(try e.tensor("generate_" + key))
            for useCache in [true, false] {
                var c = config
                c.useCache = useCache
                let got = try model.generate(try Self.sources(e), config: c)
                #expect(Self.padded(got, to: want[0].count) == want, "\(name) \(key) cache \(useCache): \(got)")
            }
        }
    }

    /// The two sources of the fixture batch (the second is 6 tokens, padded to 9 in the file).
    static func sources(_ e: SafeTensorsFile) throws -> [[Int]] {
        let ids = rows(try e.tensor("input_ids")), mask = rows(try e.tensor("attention_mask"))
        return zip(ids, mask).map { row, m in Array(row.prefix(m.reduce(0, +))) }
    }

    /// Rows padded with `pad` to `width`, as `generate` returns a batch.
    static func padded(_ rows: [[Int]], to width: Int, pad: Int = 1) -> [[Int]] {
        rows.map { $0 + Array(repeating: pad, count: max(0, width - $0.count)) }
    }

    @Test(arguments: ["bart-lm", "bart-scaled", "mbart-lm"])
    func greedyMatchesTransformers(_ name: String) throws {
        let e = try expected(name)
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory(name))
        for (key, config) in Self.greedy {
            let want = rows(try e.tensor("generate_" + key))
            for useCache in [true, false] {
                var c = config
                c.useCache = useCache
                let got = try model.generate(try Self.sources(e), config: c)
                #expect(Self.padded(got, to: want[0].count) == want, "\(name) \(key) cache \(useCache)")
            }
            // One source at a time gives the same tokens as the batch.
            for (i, source) in try Self.sources(e).enumerated() {
                let alone = try model.generate([source], config: config)[0]
                #expect(Self.padded([alone], to: want[0].count)[0] == want[i], "\(name) \(key) row \(i) alone")
            }
        }
    }

    @Test func badOptionsAreNamed() throws {
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("bart-lm"))
        func message(_ config: GenerationConfig, _ sources: [[Int]] = [[5, 6, 2]]) -> String {
            do { _ = try model.generate(sources, config: config); return "" } catch { return "\(error)" }
        }
        var c = GenerationConfig()
        c.forcedBosTokenId = 97
        #expect(message(c).contains("forced_bos_token_id"))
        c = GenerationConfig(); c.badWordsIds = [[3], []]
        #expect(message(c).contains("bad_words_ids[1]"))
        c = GenerationConfig(); c.badWordsIds = [[3, 400]]
        #expect(message(c).contains("bad_words_ids[0]"))
        c = GenerationConfig(); c.repetitionPenalty = 0
        #expect(message(c).contains("repetition_penalty"))
        c = GenerationConfig(); c.numBeams = Int.max
        #expect(message(c).contains("num_beams"))
        c = GenerationConfig(); c.numBeams = 2; c.numReturnSequences = 3
        #expect(message(c).contains("num_return_sequences"))
        c = GenerationConfig(); c.numBeams = 2; c.doSample = true
        #expect(message(c).contains("num_beams"))
        c = GenerationConfig(); c.minNewTokens = -1
        #expect(message(c).contains("min_new_tokens"))
        c = GenerationConfig(maxNewTokens: 40)
        #expect(message(c).contains("max_position_embeddings"))
        #expect(message(GenerationConfig(), [[5], []]).contains("sources[1]"))
        #expect(message(GenerationConfig(), [[5, 97]]).contains("sources[0]"))
        #expect(message(GenerationConfig(), []).contains("sources"))
    }

    /// Bad words: a banned single token never appears, a banned pair never completes.
    @Test func badWordsAreNeverGenerated() throws {
        let e = try expected("bart-lm")
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("bart-lm"))
        var c = GenerationConfig(maxNewTokens: 10, eosTokenIds: [2], padTokenId: 1)
        let plain = try model.generate(try Self.sources(e), config: c)
        let first = plain[0][0]
        c.badWordsIds = [[first], [2]]     // [eos] alone is dropped, as Hugging Face does
        let banned = try model.generate(try Self.sources(e), config: c)
        #expect(!banned[0].contains(first) && banned != plain)
    }
}

/// Beam search shared with the decoder-only models: Llama on a left-padded batch (the llama-lm
/// fixture; `Fixtures/llama-beam` holds `model.generate`'s outputs), token for token.
@Suite struct DecoderBeamSearchTests {
    @Test func llamaBeamSearchMatchesTransformers() throws {
        let e = try expected("llama-beam")
        let model = try LlamaForCausalLM.fromPretrained(directory: fixtureDirectory("llama-lm"))
        let prompts = zip(rows(try e.tensor("prompt")), rows(try e.tensor("attention_mask"))).map { row, mask in
            zip(row, mask).filter { $0.1 == 1 }.map(\.0)
        }
        var beam = GenerationConfig(maxNewTokens: 8, eosTokenIds: [2], padTokenId: 0)
        beam.numBeams = 3
        beam.lengthPenalty = 0.8
        beam.earlyStopping = .whenFull
        var ngram = GenerationConfig(maxNewTokens: 9, eosTokenIds: [2], padTokenId: 0)
        ngram.numBeams = 3
        ngram.noRepeatNgramSize = 2
        ngram.numReturnSequences = 2
        ngram.repetitionPenalty = 1.2
        for (key, config) in [("beam", beam), ("beam_ngram", ngram)] {
            let want = rows(try e.tensor("generate_" + key))
            for useCache in [true, false] {
                var c = config
                c.useCache = useCache
                let got = try model.generate(prompts, config: c)
                #expect(Seq2SeqGenerationTests.padded(got, to: want[0].count, pad: 0) == want, "\(key) cache \(useCache): \(got)")
            }
        }
    }
}
