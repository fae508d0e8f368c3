import Foundation
import Testing
@testable import Transformers
import Tensors

/// `TaskPipeline`: the registry picks the model class from the directory's config.json and gives the
/// same answers as the typed pipelines and the Hugging Face references.
@Suite struct TaskPipelineTests {
    /// fill-mask from `architectures` alone: the top 5 of transformers' fixture.
    @Test func fillMaskThroughTheRegistry() throws {
        let e = try expected("bert-fill-mask")
        let pipeline = try TaskPipeline(task: nil, directory: fixtureDirectory("bert-fill-mask"))
        #expect(pipeline.task == .fillMask)
        guard case .fillMask(let perText) = try pipeline([e.metadata["masked"]!]) else {
            Issue.record("fill-mask returned another result kind")
            return
        }
        #expect(try perText[0][0].prefix(5).map(\.token) == e.tensor("top_ids").toIntArray())
    }

    /// text-classification on the shipped classifier equals the typed pipeline.
    @Test func classificationThroughTheRegistry() throws {
        let directory = repositoryRoot().appendingPathComponent("samples/classify/model")
        let texts = ["The striker scored a late goal in the final.", "Simmer the garlic sauce until it is creamy."]
        let pipeline = try TaskPipeline(task: .textClassification, directory: directory)
        guard case .labels(let scores) = try pipeline(texts) else {
            Issue.record("text-classification returned another result kind")
            return
        }
        let loaded = try BertForSequenceClassification.loadPretrained(directory: directory)
        let typed = try TextClassificationPipeline(model: loaded.model, tokenizer: loaded.tokenizer)(texts)
        #expect(scores == typed)
        #expect(scores.map { $0[0].label } == ["sports", "cooking"])
    }

    /// Tasks without a text pipeline, and tasks the family lacks, are errors that say so.
    @Test func tasksWithoutPipelinesSaySo() throws {
        #expect { _ = try TaskPipeline(task: .nextSentencePrediction, directory: fixtureDirectory("bert-nsp")) } throws: {
            "\($0)".contains("has no text pipeline")
        }
        #expect { _ = try TaskPipeline(task: .fillMask, directory: fixtureDirectory("gpt2-lm")) } throws: {
            "\($0)".contains("not available for model_type 'gpt2'")
        }
    }

    /// The tasks with text pipelines: the encoders' feature extraction, fill-mask and classification,
    /// GPT-2's generation (its feature extraction yields token states, which no text pipeline pools).
    @Test func pipelinesFollowConformances() throws {
        let expected: [String: Set<ModelTask>] = ["bert": [.featureExtraction, .fillMask, .textClassification, .sentenceEmbedding],
                                                  "roberta": [.featureExtraction, .fillMask, .textClassification, .sentenceEmbedding],
                                                  "distilbert": [.featureExtraction, .fillMask, .textClassification, .sentenceEmbedding],
                                                  "electra": [.featureExtraction, .fillMask, .textClassification, .sentenceEmbedding],
                                                  "albert": [.featureExtraction, .fillMask, .textClassification, .sentenceEmbedding],
                                                  "gpt2": [.textGeneration]]
        for family in ModelRegistry.families where expected[family.modelType] != nil {
            #expect(Set(family.tasks.filter { $0.pipeline != nil }.map(\.task)) == expected[family.modelType], "\(family.modelType)")
        }
    }
}
