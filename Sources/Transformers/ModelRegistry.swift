import Foundation

/// Every model family TCompile loads, one line each. A family is declared once, in its model file
/// (`ModelFamily.bert` in Bert.swift); export, the manifest, `tcompile export --help`, `tcompile
/// families` and the manifest's JSON Schema iterate this list. Adding a family: its model file with
/// its `ModelFamily`, one line here, and its fixture.
public enum ModelRegistry {
    public static let families: [ModelFamily] = [
        .bert,
        .roberta,
        .xlmRoberta,
        .camembert,
        .distilbert,
        .electra,
        .albert,
        .gpt2,
        .llama,
        .mistral,
        .qwen2,
        .bart,
        .t5,
        .marian,
        .mbart,
    ]

    /// The family of `modelType`, or an error naming `file` and listing the families there are.
    public static func family(modelType: String, file: String = "config.json") throws(TransformersError) -> ModelFamily {
        guard let family = families.first(where: { $0.modelType == modelType }) else {
            throw .invalidConfigField(file: file, field: "model_type",
                                      reason: "is '\(modelType)', which TCompile does not support; supported: \(modelTypes.joined(separator: ", "))")
        }
        return family
    }

    /// The `model_type` values of every family.
    public static var modelTypes: [String] { families.map(\.modelType) }

    /// Every task some family serves, in declaration order.
    public static var tasks: [ModelTask] { ModelTask.allCases.filter { t in families.contains { $0.tasks.contains { $0.task == t } } } }

    /// What a checkpoint directory's config.json says about its family: `model_type` and
    /// `architectures`, read before the family's own config type decodes the rest.
    public struct CheckpointKind: Sendable {
        public var family: ModelFamily
        public var architectures: [String]
        /// Whether the directory is a sentence-transformers model (`modules.json`).
        public var isSentenceTransformers: Bool
    }

    /// Reads `directory/config.json`'s `model_type` and `architectures` and finds the family.
    public static func kind(ofCheckpoint directory: URL) throws(TransformersError) -> CheckpointKind {
        let file = directory.appendingPathComponent("config.json")
        let probe = try decodeJSON(ConfigProbe.self, at: file)
        guard let modelType = probe.modelType else { throw .missingConfigField(file: file.path, field: "model_type") }
        return CheckpointKind(family: try family(modelType: modelType, file: file.path), architectures: probe.architectures ?? [],
                              isSentenceTransformers: SentenceTransformersConfig.isPresent(in: directory))
    }

    /// The task to export when the user named none: sentence-embedding for a sentence-transformers
    /// directory, else the one `config.architectures` selects; an error listing the choices when no
    /// class is known.
    public static func inferredTask(for kind: CheckpointKind, file: String = "config.json") throws(TransformersError) -> TaskEntry {
        if kind.isSentenceTransformers, let entry = kind.family.tasks.first(where: { $0.task == .sentenceEmbedding }) { return entry }
        if let entry = kind.family.task(forArchitectures: kind.architectures) { return entry }
        let named = kind.architectures.isEmpty ? "names no architectures" : "names architectures \(kind.architectures) that select no task"
        throw .invalidConfigField(file: file, field: "architectures",
                                  reason: "\(named); pass --task (\(kind.family.modelType) serves \(kind.family.taskNames))")
    }
}

/// The two fields of config.json that pick a family and a task.
struct ConfigProbe: Decodable {
    var modelType: String?
    var architectures: [String]?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", architectures
    }
}
