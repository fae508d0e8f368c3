import Foundation
import Testing
import Tensors
@testable import Transformers

/// Outputs against Hugging Face transformers on the random-initialized fixtures: hidden states and
/// logits within 1e-4, losses within 1e-5.
@Suite struct AgreementTests {
    func encoderInputs(_ e: SafeTensorsFile, types: Bool = true) throws -> EncoderInputs {
        EncoderInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"),
                      tokenTypeIds: types ? try e.tensor("token_type_ids") : nil)
    }

    @Test func bertModel() throws {
        let e = try expected("bert-model")
        let model = try BertModel.fromPretrained(directory: fixtureDirectory("bert-model"))
        let out = try model(encoderInputs(e))
        expectClose(out.lastHiddenState, try e.tensor("last_hidden_state"), 1e-4, "last_hidden_state")
        expectClose(try #require(out.poolerOutput), try e.tensor("pooler_output"), 1e-4, "pooler_output")
    }

    @Test func bertForMaskedLM() throws {
        let e = try expected("bert-mlm")
        let loaded = try BertForMaskedLM.loadPretrained(directory: fixtureDirectory("bert-mlm"))
        #expect(loaded.report.unused.isEmpty)
        let out = try loaded.model(encoderInputs(e), labels: try e.tensor("labels"))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
        // The decoder is the word embedding matrix itself.
        #expect(loaded.model.cls.predictions!.decoder.weight === loaded.model.bert.embeddings.wordEmbeddings.weight)
    }

    @Test func bertForNextSentencePrediction() throws {
        let e = try expected("bert-nsp")
        let model = try BertForNextSentencePrediction.fromPretrained(directory: fixtureDirectory("bert-nsp"))
        let out = try model(encoderInputs(e), labels: try e.tensor("next_sentence_label"))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
    }

    @Test func bertForPreTraining() throws {
        let e = try expected("bert-pretraining")
        let model = try BertForPreTraining.fromPretrained(directory: fixtureDirectory("bert-pretraining"))
        let out = try model(encoderInputs(e), labels: try e.tensor("labels"), nextSentenceLabel: try e.tensor("next_sentence_label"))
        expectClose(out.predictionLogits, try e.tensor("prediction_logits"), 1e-4, "prediction_logits")
        expectClose(out.seqRelationshipLogits, try e.tensor("seq_relationship_logits"), 1e-4, "seq_relationship_logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
    }

    @Test func bertForSequenceClassification() throws {
        let e = try expected("bert-seqcls")
        let model = try BertForSequenceClassification.fromPretrained(directory: fixtureDirectory("bert-seqcls"))
        #expect(model.config.common.numLabels == 3)
        let out = try model(encoderInputs(e), labels: try e.tensor("labels"))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
    }

    @Test func robertaModel() throws {
        let e = try expected("roberta-model")
        let model = try RobertaModel.fromPretrained(directory: fixtureDirectory("roberta-model"))
        let out = try model(encoderInputs(e, types: false))
        expectClose(out.lastHiddenState, try e.tensor("last_hidden_state"), 1e-4, "last_hidden_state")
        expectClose(try #require(out.poolerOutput), try e.tensor("pooler_output"), 1e-4, "pooler_output")
        // Positions start past the padding index and padding keeps it.
        let ids = try e.tensor("input_ids")
        #expect(rows(model.positionIds(for: ids))[1] == [2, 3, 4, 5, 6, 7, 8, 1, 1, 1])
    }

    @Test func robertaForMaskedLM() throws {
        let e = try expected("roberta-mlm")
        let model = try RobertaForMaskedLM.fromPretrained(directory: fixtureDirectory("roberta-mlm"))
        let out = try model(encoderInputs(e, types: false), labels: try e.tensor("labels"))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
    }

    @Test func robertaForSequenceClassification() throws {
        let e = try expected("roberta-seqcls")
        let model = try RobertaForSequenceClassification.fromPretrained(directory: fixtureDirectory("roberta-seqcls"))
        let out = try model(encoderInputs(e, types: false), labels: try e.tensor("labels"))
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
    }

    @Test func gpt2Model() throws {
        let e = try expected("gpt2-model")
        let model = try GPT2Model.fromPretrained(directory: fixtureDirectory("gpt2-model"))
        let out = try model(DecoderInputs(inputIds: try e.tensor("input_ids")))
        expectClose(out, try e.tensor("last_hidden_state"), 1e-4, "last_hidden_state")
    }

    @Test func gpt2LMHeadModel() throws {
        let e = try expected("gpt2-lm")
        let model = try GPT2LMHeadModel.fromPretrained(directory: fixtureDirectory("gpt2-lm"))
        let ids = try e.tensor("input_ids")
        let out = try model(DecoderInputs(inputIds: ids), labels: ids)
        expectClose(out.logits, try e.tensor("logits"), 1e-4, "logits")
        expectClose(try #require(out.loss), try e.tensor("loss"), 1e-5, "loss")
        #expect(model.lmHead.weight === model.transformer.wte.weight)
    }

    @Test func gpt2GreedyGenerationIsTokenIdentical() throws {
        let e = try expected("gpt2-lm")
        let model = try GPT2LMHeadModel.fromPretrained(directory: fixtureDirectory("gpt2-lm"))
        let greedy = try model.generate(rows(e.tensor("greedy_prompt")), config: .greedy(maxNewTokens: 20))
        #expect(greedy == rows(try e.tensor("greedy_output")))
        // EOS stopping: the fixture's EOS is the 7th greedy token; generation ends right after it.
        let eos = try #require(Int(e.metadata["eos_token_id"] ?? ""))
        var config = GenerationConfig.greedy(maxNewTokens: 20)
        config.eosTokenIds = [eos]
        let stopped = try model.generate(rows(e.tensor("greedy_prompt")), config: config)
        #expect(stopped == rows(try e.tensor("eos_output")))
        #expect(stopped[0].last == eos)
    }

    @Test func gpt2BatchedLeftPaddedGeneration() throws {
        let e = try expected("gpt2-lm")
        let model = try GPT2LMHeadModel.fromPretrained(directory: fixtureDirectory("gpt2-lm"))
        let masks = rows(try e.tensor("batch_attention_mask"))
        let prompts = zip(rows(try e.tensor("batch_prompt")), masks).map { row, mask in zip(row, mask).filter { $0.1 == 1 }.map(\.0) }
        var config = GenerationConfig.greedy(maxNewTokens: 12)
        config.padTokenId = 98
        let batched = try model.generate(prompts, config: config)
        #expect(batched == rows(try e.tensor("batch_output")))
        // One prompt at a time gives the same tokens.
        for (prompt, tokens) in zip(prompts, batched) {
            #expect(try model.generate([prompt], config: config)[0] == tokens)
        }
    }
}
