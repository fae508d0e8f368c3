import Foundation

/// Why loading a checkpoint or running a model refused: each case names the file, field, tensor or
/// argument at fault, so a user can fix the input without reading our source.
public enum TransformersError: Error, Equatable, CustomStringConvertible {
    /// A file the checkpoint directory must hold is absent or unreadable.
    case missingFile(path: String)
    /// `config.json` lacks a field this architecture cannot do without.
    case missingConfigField(file: String, field: String)
    /// A config field has a value of the wrong type or one we do not support.
    case invalidConfigField(file: String, field: String, reason: String)
    /// The checkpoint lacks a tensor the model needs.
    case missingTensor(file: String, tensor: String, expected: [Int])
    /// A checkpoint tensor has another shape than the model's.
    case shapeMismatch(file: String, tensor: String, expected: [Int], actual: [Int])
    /// An argument of a public entry point is out of range or mis-shaped (token ids outside the
    /// vocabulary, a mask that does not match the ids, a sequence longer than the position table).
    case invalidInput(argument: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path): "missing file \(path)"
        case .missingConfigField(let file, let field): "\(file): required field '\(field)' is missing"
        case .invalidConfigField(let file, let field, let reason): "\(file): field '\(field)' \(reason)"
        case .missingTensor(let file, let tensor, let expected):
            "\(file): tensor '\(tensor)' (expected shape \(expected)) is missing"
        case .shapeMismatch(let file, let tensor, let expected, let actual):
            "\(file): tensor '\(tensor)' has shape \(actual), expected \(expected)"
        case .invalidInput(let argument, let reason): "\(argument): \(reason)"
        }
    }
}
