import Foundation
import Testing
import Tensors
@testable import Transformers

/// Generation defaults from a checkpoint's files (`scripts/fixtures/generation_config_fixtures.py`):
/// the fields transformers' `GenerationConfig.from_pretrained` reads, and `model.generate`'s tokens
/// with them as the only options.
@Suite struct GenerationConfigFileTests {
    /// The fixture's `GenerationConfig.to_diff_dict()` of `file`.
    static func huggingFace(_ fixture: String, _ key: String) throws -> [String: Any] {
        let json = try #require(try expected(fixture).metadata[key])
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test func generationConfigJSONAsTransformersReadsIt() throws {
        let directory = try fixtureDirectory("llama-genconfig")
        let config = try GenerationConfig(checkpoint: directory)
        let hf = try Self.huggingFace("llama-genconfig", "hf_generation_config.json")
        #expect(config.numBeams == hf["num_beams"] as? Int)
        #expect(config.numReturnSequences == hf["num_return_sequences"] as? Int)
        #expect(config.maxNewTokens == hf["max_new_tokens"] as? Int && config.maxLength == nil)
        #expect(config.noRepeatNgramSize == hf["no_repeat_ngram_size"] as? Int)
        #expect(config.lengthPenalty == Float(try #require(hf["length_penalty"] as? Double)))
        #expect(config.repetitionPenalty == Float(try #require(hf["repetition_penalty"] as? Double)))
        #expect(config.earlyStopping == ((hf["early_stopping"] as? Bool) == true ? .whenFull : .heuristic))
        #expect(config.eosTokenIds == hf["eos_token_id"] as? [Int])
        #expect(config.padTokenId == hf["pad_token_id"] as? Int)
        #expect(config.doSample == false && config.topK == 50, "fields the file leaves out keep the defaults")
    }

    /// Beam search (3 beams, 2 returned, …) with the file's options only: model.generate's sequences.
    @Test func beamSearchFromGenerationConfigJSON() throws {
        let e = try expected("llama-genconfig")
        let model = try LlamaForCausalLM.fromPretrained(directory: fixtureDirectory("llama-genconfig"))
        let prompts = zip(rows(try e.tensor("prompt")), rows(try e.tensor("attention_mask"))).map { ids, mask in
            zip(ids, mask).filter { $0.1 == 1 }.map(\.0)
        }
        let config = try GenerationConfig(checkpoint: fixtureDirectory("llama-genconfig"))
        let generated = try model.generate(prompts, config: config)
        let sequences = rows(try e.tensor("sequences_beam"))
        let width = try e.tensor("prompt").size(1)
        #expect(generated.count == sequences.count)
        for (row, tokens) in generated.enumerated() {
            let hfTokens = Array(sequences[row][width...])
            #expect(tokens == Array(hfTokens.prefix(tokens.count)) && hfTokens.dropFirst(tokens.count).allSatisfy { $0 == 0 }, "row \(row): \(tokens) vs \(hfTokens)")
        }
    }

    /// max_length and min_length against the padded prompt width, bad_words_ids, forced_eos_token_id.
    @Test func greedyFromMaxLengthAndMinLength() throws {
        let e = try expected("llama-genconfig")
        let directory = try fixtureDirectory("llama-genconfig")
        var config = GenerationConfig()
        try config.apply(file: directory.appendingPathComponent("greedy_generation_config.json").path)
        #expect(config.maxLength == 15 && config.minLength == 12 && config.badWordsIds == [[5], [9, 10]] && config.forcedEosTokenIds == [2])
        let model = try LlamaForCausalLM.fromPretrained(directory: directory)
        let prompts = zip(rows(try e.tensor("prompt")), rows(try e.tensor("attention_mask"))).map { ids, mask in
            zip(ids, mask).filter { $0.1 == 1 }.map(\.0)
        }
        let width = try e.tensor("prompt").size(1)
        let hf = rows(try e.tensor("sequences_greedy")).map { Array($0[width...]) }
        #expect(try model.generate(prompts, config: config) == hf)
    }

    /// A checkpoint without generation_config.json: config.json's legacy generation fields
    /// (`GenerationConfig.from_model_config`) drive BART's beam search.
    @Test func legacyConfigJSONFieldsOfBart() throws {
        let e = try expected("bart-genconfig")
        let directory = try fixtureDirectory("bart-genconfig")
        let config = try GenerationConfig(checkpoint: directory)
        #expect(config.numBeams == 2 && config.maxLength == 10 && config.minLength == 5 && config.forcedBosTokenId == 0
                && config.forcedEosTokenIds == [2] && config.earlyStopping == .whenFull && config.lengthPenalty == 1.3)
        let bart = try BartForConditionalGeneration.fromPretrained(directory: directory)
        let sources = zip(rows(try e.tensor("input_ids")), rows(try e.tensor("attention_mask"))).map { ids, mask in
            zip(ids, mask).filter { $0.1 == 1 }.map(\.0)
        }
        let pad = 1
        let hf = rows(try e.tensor("sequences")).map { row in Array(row.dropFirst()) }
        let ours = try bart.generate(sources, config: config)
        for (row, tokens) in ours.enumerated() {
            #expect(tokens + Array(repeating: pad, count: hf[row].count - tokens.count) == hf[row], "row \(row)")
        }
    }

    /// Wrong types name the file and the field; unknown fields and nulls are ignored, as transformers does.
    @Test func badFieldsNameFileAndField() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("genconfig-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("generation_config.json")
        func load(_ json: String) throws -> GenerationConfig {
            try Data(json.utf8).write(to: file)
            return try GenerationConfig(checkpoint: dir)
        }
        let fine = try load(#"{"num_beams": 4, "top_k": null, "made_up": [1, {"x": 2}], "transformers_version": "5.24.0", "early_stopping": "never"}"#)
        #expect(fine.numBeams == 4 && fine.topK == 50 && fine.earlyStopping == .never)
        for (json, field) in [(#"{"num_beams": "three"}"#, "num_beams"), (#"{"early_stopping": "sometimes"}"#, "early_stopping"),
                              (#"{"eos_token_id": []}"#, "eos_token_id"), (#"{"eos_token_id": "2"}"#, "eos_token_id"),
                              (#"{"bad_words_ids": [5]}"#, "bad_words_ids[0]"), (#"{"temperature": -1}"#, "temperature"),
                              (#"{"max_new_tokens": 1.5}"#, "max_new_tokens"), (#"{"num_beams": 2, "num_return_sequences": 3}"#, "num_return_sequences"),
                              ("[1, 2]", "(document)"), (#"{"top_p": 1e300}"#, "top_p")] {
            #expect { _ = try load(json) } throws: { error in
                let text = "\(error)"
                return text.contains("generation_config.json") && text.contains(field)
            }
        }
        var config = try load(#"{"max_length": 5}"#)
        #expect { _ = try config.resolved(promptWidth: 5) } throws: { "\($0)".contains("max_length") && "\($0)".contains("5") }
        config.setMaxNewTokens(3)
        #expect(try config.resolved(promptWidth: 5).maxNewTokens == 3, "max_new_tokens wins over max_length")
    }
}
