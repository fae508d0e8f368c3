import Foundation
import Testing
import TCompile
import Transformers

/// The family registry: the one list export, the manifest, the CLI and the JSON Schema read.
@Suite struct ModelRegistryTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures").standardized
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    /// Every fixture checkpoint's `architectures` picks the task it was saved for.
    @Test(arguments: [("bert-model", ModelTask.featureExtraction), ("bert-mlm", .fillMask), ("bert-nsp", .nextSentencePrediction),
                      ("bert-pretraining", .pretraining), ("bert-seqcls", .textClassification), ("roberta-model", .featureExtraction),
                      ("roberta-mlm", .fillMask), ("roberta-seqcls", .textClassification), ("gpt2-model", .featureExtraction),
                      ("gpt2-lm", .textGeneration), ("distilbert-model", .featureExtraction), ("distilbert-mlm", .fillMask),
                      ("distilbert-seqcls", .textClassification), ("distilbert-tokcls", .tokenClassification),
                      ("distilbert-qa", .questionAnswering), ("electra-model", .featureExtraction), ("electra-pretraining", .pretraining),
                      ("electra-mlm", .fillMask), ("electra-seqcls", .textClassification), ("electra-tokcls", .tokenClassification),
                      ("electra-qa", .questionAnswering), ("albert-model", .featureExtraction), ("albert-mlm", .fillMask),
                      ("albert-seqcls", .textClassification), ("albert-tokcls", .tokenClassification), ("albert-qa", .questionAnswering)])
    func architecturesPickTheTask(_ directory: String, _ task: ModelTask) throws {
        let model = try ModelExport.load(directory: Self.fixtures.appendingPathComponent(directory), task: nil)
        #expect(model.task == task)
    }

    /// Each family is listed once, each of its tasks once, and no Hugging Face class selects two tasks.
    @Test func declarationsAreUnique() {
        let types = ModelRegistry.modelTypes
        #expect(Set(types).count == types.count)
        for family in ModelRegistry.families {
            let tasks = family.tasks.map(\.task)
            #expect(Set(tasks).count == tasks.count, "\(family.modelType) declares a task twice")
            let classes = family.tasks.flatMap(\.architectures)
            #expect(Set(classes).count == classes.count, "\(family.modelType) maps a class to two tasks")
            #expect(!family.inputs.isEmpty && family.inputs[0] == .inputIds)
        }
    }

    /// docs/schemas/tcompile.model-2.schema.json is what the registry generates (regenerate it with
    /// `tcompile families --schema`).
    @Test func committedSchemaIsTheGeneratedOne() throws {
        let committed = try String(contentsOf: Self.repository.appendingPathComponent("docs/schemas/tcompile.model-2.schema.json"), encoding: .utf8)
        #expect(committed == ModelManifest.jsonSchema, "run `tcompile families --schema > docs/schemas/tcompile.model-2.schema.json`")
        for family in ModelRegistry.families { #expect(committed.contains("\"\(family.modelType)\"")) }
    }

    @Test func unknownModelTypeListsTheFamilies() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"model_type": "mamba", "architectures": ["MambaForCausalLM"]}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect {
            _ = try ModelExport.load(directory: dir, task: .fillMask)
        } throws: { error in
            let text = "\(error)"
            return text.contains("model_type") && text.contains("'mamba'") && text.contains("supported: " + ModelRegistry.modelTypes.joined(separator: ", ")) && !text.contains("task")
        }
    }

    @Test func unknownArchitectureAsksForATask() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"model_type": "bert", "architectures": ["BertForMultipleChoice"]}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect {
            _ = try ModelExport.load(directory: dir, task: nil)
        } throws: { error in "\(error)".contains("pass --task") && "\(error)".contains("BertForMultipleChoice") }
    }

    @Test func taskOfAnotherFamilyIsRefused() throws {
        #expect {
            _ = try ModelExport.load(directory: Self.fixtures.appendingPathComponent("gpt2-lm"), task: .fillMask)
        } throws: { error in "\(error)".contains("'fill-mask' is not available for model_type 'gpt2'") }
    }

    /// `--max-seq` above the position table is refused at export (RoBERTa's table less its offset).
    @Test(arguments: ["bert-mlm", "roberta-mlm", "gpt2-lm"])
    func sequenceBoundIsThePositionTable(_ directory: String) throws {
        let model = try ModelExport.load(directory: Self.fixtures.appendingPathComponent(directory), task: nil)
        let bound = model.model.maxSequenceLength
        #expect(throws: ExportError.self) { _ = try model.trace(maxBatch: 1, maxSeq: bound + 1) }
    }

    @Test func cIdentifiers() {
        #expect(CIdentifier.make(from: "all-MiniLM-L6-v2") == "all_MiniLM_L6_v2")
        #expect(CIdentifier.make(from: "2layer") == "model_2layer")
        #expect(CIdentifier.make(from: "8b3219a92973c328a8e22fadcfa821b5dc75636a") == "model_8b3219a92973c328a8e22fadcfa821b5dc75636a")
        #expect(CIdentifier.make(from: "modèle") == "mod_le")
        #expect(CIdentifier.make(from: "") == "model_")
        for name in ["all-MiniLM-L6-v2", "2layer", "a*/\nint x;", "", "é"] { #expect(CIdentifier.isValid(CIdentifier.make(from: name))) }
        #expect(!CIdentifier.isValid("a b") && !CIdentifier.isValid("9x") && CIdentifier.isValid("_x9"))
    }
}
