import Foundation
import NN
import Tensors

/// A pipeline task, by its Hugging Face name (`pipeline("fill-mask")`, `--task fill-mask`). One word
/// everywhere: the registry, `tcompile export --task`, the manifest's `task` field and the docs.
public enum ModelTask: String, CaseIterable, Sendable, Codable {
    case featureExtraction = "feature-extraction"
    case fillMask = "fill-mask"
    case nextSentencePrediction = "next-sentence-prediction"
    case pretraining
    case textClassification = "text-classification"
    case tokenClassification = "token-classification"
    case questionAnswering = "question-answering"
    case sentenceEmbedding = "sentence-embedding"
    case textGeneration = "text-generation"
    case text2textGeneration = "text2text-generation"
}

/// The tokenizer a family's checkpoints ship, as `Tokenizers` reads it from the checkpoint directory.
public enum TokenizerKind: String, Sendable {
    /// BERT's WordPiece (`tokenizer.json` or `vocab.txt`).
    case wordPiece = "WordPiece"
    /// GPT-2's and RoBERTa's byte-level BPE (`tokenizer.json` or `vocab.json` + `merges.txt`).
    case byteLevelBPE = "byte-level BPE"
    /// SentencePiece models (Unigram or BPE with byte fallback): `tokenizer.json`, or a `.model` file
    /// (`sentencepiece.bpe.model`, `spiece.model`) for checkpoints that ship no tokenizer.json.
    case sentencePiece = "SentencePiece"
}

/// One integer input of a task's forward pass, `[batch, seq]`.
public struct ModelInput: Sendable, Equatable {
    /// Hugging Face's name: `input_ids`, `attention_mask`, `token_type_ids`.
    public var name: String
    /// The value example inputs hold: valid in any checkpoint (id 1, mask 1, token type 0), so that
    /// tracing runs on any vocabulary.
    public var exampleValue: Int

    public init(_ name: String, exampleValue: Int) {
        self.name = name
        self.exampleValue = exampleValue
    }

    /// Token ids `[batch, seq]`.
    public static let inputIds = ModelInput("input_ids", exampleValue: 1)
    /// 1 for real tokens, 0 for padding.
    public static let attentionMask = ModelInput("attention_mask", exampleValue: 1)
    /// Segment ids (0 for the first text, 1 for the second).
    public static let tokenTypeIds = ModelInput("token_type_ids", exampleValue: 0)
    /// An encoder-decoder's decoder token ids `[batch, target]`.
    public static let decoderInputIds = ModelInput("decoder_input_ids", exampleValue: 1)
}

/// The named inputs a task's forward pass receives; every input its family declares is present
/// (`TaskModel.run` checks before calling).
public struct TaskInputs {
    let tensors: [String: Tensor]

    /// The tensor of a declared input.
    public subscript(_ input: ModelInput) -> Tensor {
        guard let tensor = tensors[input.name] else {
            preconditionFailure("input '\(input.name)' is declared by the family but TaskModel.run did not check it")
        }
        return tensor
    }

    /// The tensor of an optional input, nil when absent.
    public func optional(_ input: ModelInput) -> Tensor? { tensors[input.name] }

    /// The encoder inputs of BERT-style families.
    public var encoder: EncoderInputs {
        EncoderInputs(inputIds: self[.inputIds], attentionMask: optional(.attentionMask), tokenTypeIds: optional(.tokenTypeIds))
    }

    /// The decoder inputs of GPT-style families.
    public var decoder: DecoderInputs { DecoderInputs(inputIds: self[.inputIds], attentionMask: optional(.attentionMask)) }

    /// The inputs of encoder-decoder families (BART).
    public var seq2seq: Seq2SeqInputs {
        Seq2SeqInputs(inputIds: self[.inputIds], attentionMask: optional(.attentionMask), decoderInputIds: self[.decoderInputIds])
    }
}

/// A checkpoint loaded for one task: the module in eval mode and its forward pass from named inputs to
/// named outputs with Hugging Face's names. The same closure is what the tracer records.
public struct TaskModel {
    /// The module, in eval mode.
    public let module: Module
    /// The task it serves.
    public let task: ModelTask
    /// Its inputs, in order.
    public let inputs: [ModelInput]
    /// The longest sequence the checkpoint's position table allows.
    public let maxSequenceLength: Int
    let body: (TaskInputs) -> [(name: String, tensor: Tensor)]

    /// Runs the forward pass on trusted tensors (the tracer's entry); throws when an input is missing.
    public func run(_ inputs: [String: Tensor]) throws(TransformersError) -> [(name: String, tensor: Tensor)] {
        if let missing = self.inputs.first(where: { inputs[$0.name] == nil }) {
            throw .invalidInput(argument: missing.name, reason: "is missing (the \(task.rawValue) model takes \(self.inputs.map(\.name).joined(separator: ", ")))")
        }
        return body(TaskInputs(tensors: inputs))
    }
}

/// One task a family serves: the Hugging Face classes that select it, its outputs, and how to build it.
public struct TaskEntry: Sendable {
    /// The task.
    public let task: ModelTask
    /// `config.architectures` values that mean this task (`BertForMaskedLM` → fill-mask).
    public let architectures: [String]
    /// Output names, in order, as Hugging Face names them (an output a checkpoint may lack, such as
    /// BERT's `pooler_output`, is listed and produced only when present).
    public let outputs: [String]
    /// Whether `tcompile export` can trace and compile this task; false for the eager-only
    /// encoder-decoder families, whose export refuses with `exportRefusal`.
    public let exportable: Bool
    let load: @Sendable (URL, ModelFamily) throws -> TaskModel
    /// Builds the task's text pipeline (`TaskPipeline`), when the model class provides one.
    let pipeline: (@Sendable (URL) throws -> ([String]) throws -> PipelineResult)?

    /// An entry whose model is `Model.fromPretrained(directory:)` and whose forward is `forward`.
    public static func task<Model: PretrainedModel>(
        _ task: ModelTask, _ model: Model.Type, architectures: [String], outputs: [String],
        exportable: Bool = true, forward: @escaping @Sendable (Model, TaskInputs) -> [(name: String, tensor: Tensor)]
    ) -> TaskEntry {
        TaskEntry(task: task, architectures: architectures, outputs: outputs, exportable: exportable, load: { directory, family in
            let m = try Model.fromPretrained(directory: directory)
            m.eval()
            return TaskModel(module: m, task: task, inputs: family.inputs,
                             maxSequenceLength: m.config.maxSequenceLength) { forward(m, $0) }
        }, pipeline: TaskPipeline.maker(Model.self, task: task))
    }
}

/// A model family, declared once in its model file: what `model_type` it answers to, its config type,
/// the inputs its forward passes take, its tokenizer and the tasks it serves. Export, the manifest,
/// the command line's help and the JSON Schema all read it through `ModelRegistry`.
public struct ModelFamily: Sendable {
    /// config.json's `model_type`.
    public let modelType: String
    /// The config type that decodes config.json.
    public let configType: any PretrainedConfig.Type
    /// The tokenizer its checkpoints ship.
    public let tokenizer: TokenizerKind
    /// The inputs of every task's forward pass, in order; each is `[batch, seq]`.
    public let inputs: [ModelInput]
    /// The tasks it serves; the first is the default when config.json names no known class.
    public let tasks: [TaskEntry]

    public init(modelType: String, config: any PretrainedConfig.Type, tokenizer: TokenizerKind,
                inputs: [ModelInput], tasks: [TaskEntry]) {
        self.modelType = modelType
        self.configType = config
        self.tokenizer = tokenizer
        self.inputs = inputs
        self.tasks = tasks
    }

    /// The entry of `task`, or an error listing the tasks this family serves.
    public func entry(_ task: ModelTask) throws(TransformersError) -> TaskEntry {
        guard let entry = tasks.first(where: { $0.task == task }) else {
            throw .invalidInput(argument: "task", reason: "'\(task.rawValue)' is not available for model_type '\(modelType)' (it serves \(taskNames))")
        }
        return entry
    }

    /// The task `architectures` (config.json's class names) select, if any class is known.
    public func task(forArchitectures architectures: [String]) -> TaskEntry? {
        architectures.lazy.compactMap { name in self.tasks.first { $0.architectures.contains(name) } }.first
    }

    /// The error export gives for a task it cannot trace yet (`TaskEntry.exportable` false).
    public func exportRefusal(_ task: ModelTask) -> TransformersError {
        .invalidInput(argument: "task", reason: "'\(task.rawValue)' of model_type '\(modelType)' runs eagerly only: seq2seq (encoder-decoder) export is not available yet")
    }

    /// The served tasks, comma separated.
    public var taskNames: String { tasks.map(\.task.rawValue).joined(separator: ", ") }

    /// Loads the checkpoint at `directory` for `task`, in eval mode.
    public func load(directory: URL, task: ModelTask) throws -> TaskModel {
        try entry(task).load(directory, self)
    }
}
