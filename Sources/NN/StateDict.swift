import Tensors

/// A state-dict key whose tensor has the wrong shape.
public struct ShapeMismatch: Equatable, Sendable, CustomStringConvertible {
    /// The dotted key.
    public var key: String
    /// The shape the module has.
    public var expected: [Int]
    /// The shape the state dict gave.
    public var actual: [Int]

    public var description: String { "\(key): expected \(expected), got \(actual)" }
}

/// What loading a state dict found: keys the module has but the dict lacks, keys the dict has but the
/// module lacks, and keys whose shapes disagree (PyTorch's `missing_keys` / `unexpected_keys`).
public struct LoadReport: Equatable, Sendable, CustomStringConvertible {
    /// Module keys with no tensor in the dict (left unchanged).
    public var missing: [String] = []
    /// Dict keys the module does not have (ignored).
    public var unexpected: [String] = []
    /// Keys present on both sides with different shapes (left unchanged).
    public var mismatched: [ShapeMismatch] = []

    /// Whether every key matched.
    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

    public var description: String {
        isClean ? "all keys matched"
            : "missing: \(missing), unexpected: \(unexpected), mismatched: \(mismatched.map(\.description))"
    }
}

/// Why a strict state-dict load refused; nothing is loaded when it throws.
public enum StateDictError: Error, Equatable, CustomStringConvertible {
    /// A key whose tensor has another shape than the module's.
    case shapeMismatch(key: String, expected: [Int], actual: [Int])
    /// Keys the module has and the state dict lacks.
    case missingKeys([String])
    /// Keys the state dict has and the module lacks.
    case unexpectedKeys([String])

    public var description: String {
        switch self {
        case .shapeMismatch(let key, let expected, let actual):
            "state dict: '\(key)' has shape \(actual) but the module expects \(expected)"
        case .missingKeys(let keys): "state dict: missing keys \(keys)"
        case .unexpectedKeys(let keys): "state dict: unexpected keys \(keys)"
        }
    }
}

extension Module {
    /// Copies the tensors of `state` into this module's parameters and buffers, in place (so optimizers
    /// keep their references), after checking every shape (`load_state_dict`).
    ///
    /// When `strict`, any missing, unexpected or mis-shaped key throws and nothing is changed; otherwise
    /// the matching keys load and the report lists the rest.
    ///
    /// ```swift
    /// let report = try model.loadStateDict(try SafeTensors.read(path: "model.safetensors"), strict: false)
    /// ```
    ///
    /// With `assign` (PyTorch's `load_state_dict(assign=True)`, which `fromPretrained` uses), a
    /// tensor takes the dict's storage instead of a copy where nothing could tell the difference
    /// (`Tensor.adoptStorage(of:)`: a checkpoint's memory-mapped pages are then used in place); the
    /// module's tensor objects stay the same either way.
    @discardableResult
    public func loadStateDict(_ state: [String: Tensor], strict: Bool = true, assign: Bool = false) throws(StateDictError) -> LoadReport {
        let own = namedParameters() + namedBuffers()
        var report = LoadReport()
        var loads: [(Tensor, Tensor)] = []
        for (key, target) in own {
            guard let source = state[key] else { report.missing.append(key); continue }
            if source.shape != target.shape {
                report.mismatched.append(ShapeMismatch(key: key, expected: target.shape, actual: source.shape))
            } else {
                loads.append((target, source))
            }
        }
        let known = Set(own.map(\.0))
        report.unexpected = state.keys.filter { !known.contains($0) }.sorted()
        if strict {
            if let m = report.mismatched.first { throw .shapeMismatch(key: m.key, expected: m.expected, actual: m.actual) }
            if !report.missing.isEmpty { throw .missingKeys(report.missing) }
            if !report.unexpected.isEmpty { throw .unexpectedKeys(report.unexpected) }
        }
        withNoGrad {
            for (target, source) in loads where !(assign && target.adoptStorage(of: source)) { target.assign(source) }
        }
        return report
    }

    /// Writes the state dict to a safetensors file, with optional `__metadata__`.
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(stateDict(), metadata: metadata, to: path)
    }

    /// Loads a safetensors file written by `save(to:)`, PyTorch or Hugging Face (see `loadStateDict`).
    /// Throws `SafeTensorsError` for a bad file and `StateDictError` for bad keys when `strict`.
    @discardableResult
    public func load(from path: String, strict: Bool = true) throws -> LoadReport {
        try loadStateDict(SafeTensors.read(path: path), strict: strict)
    }
}
