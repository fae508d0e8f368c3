import Tensors

/// Why optimizer state could not be restored.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
    /// A state tensor for a parameter the optimizer does not have, or of the wrong shape.
    case badEntry(key: String, reason: String)

    public var description: String {
        switch self { case .badEntry(let key, let reason): "optimizer state: '\(key)': \(reason)" }
    }
}

/// An optimizer over named parameters (`torch.optim.Optimizer`): `step()` updates every parameter that
/// requires gradients and has one; frozen parameters are skipped. Per-parameter state (momentum,
/// moments) lives in named slots so that `stateDict()` / `loadStateDict(_:)` save and restore it exactly.
///
/// Subclasses implement `update(_:gradient:state:)`.
open class Optimizer {
    /// The parameters with their state-dict keys.
    public let parameters: [(String, Tensor)]
    /// The learning rate used by the next `step()` (schedules set it).
    public var learningRate: Float
    /// How many steps have been taken.
    public private(set) var stepCount = 0
    /// Per-parameter state: `state[parameterKey][slot]`.
    public var state: [String: [String: Tensor]] = [:]

    /// An optimizer over `parameters` (e.g. `model.namedParameters()`); tied duplicates are dropped.
    public init(parameters: [(String, Tensor)], learningRate: Float) {
        var seen = Set<ObjectIdentifier>()
        self.parameters = parameters.filter { seen.insert(ObjectIdentifier($0.1)).inserted }
        self.learningRate = learningRate
    }

    /// Updates one parameter from its gradient; `state` is its slots, to read and write. Runs under
    /// `withNoGrad`, with `stepCount` already counting this step.
    open func update(_ parameter: Tensor, gradient: Tensor, state: inout [String: Tensor]) {
        fatalError("Optimizer.update must be overridden")
    }

    /// Takes one optimization step.
    public func step() {
        stepCount += 1
        withNoGrad {
            for (key, p) in parameters where p.requiresGrad {
                guard let g = p.grad else { continue }
                var slots = state[key] ?? [:]
                update(p, gradient: g, state: &slots)
                state[key] = slots
            }
        }
    }

    /// Clears every parameter's gradient (`zero_grad(set_to_none=True)`).
    public func zeroGrad() { for (_, p) in parameters { p.zeroGrad() } }

    /// The optimizer's state as tensors: `state.<slot>.<parameter key>` plus `step` (int64) and
    /// `learning_rate`, ready for a safetensors file.
    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = ["step": Tensor([stepCount], shape: []), "learning_rate": Tensor(learningRate)]
        for (key, slots) in state {
            for (slot, t) in slots { out["state.\(slot).\(key)"] = t }
        }
        return out
    }

    /// Restores what `stateDict()` produced; the slots are copied, so the dict may be reused.
    public func loadStateDict(_ dict: [String: Tensor]) throws(OptimizerStateError) {
        let shapes = Dictionary(parameters.map { ($0.0, $0.1.shape) }, uniquingKeysWith: { a, _ in a })
        var restored: [String: [String: Tensor]] = [:]
        for (name, t) in dict where name.hasPrefix("state.") {
            let rest = name.dropFirst("state.".count)
            guard let dot = rest.firstIndex(of: ".") else { throw .badEntry(key: name, reason: "not state.<slot>.<parameter>") }
            let slot = String(rest[..<dot]), key = String(rest[rest.index(after: dot)...])
            guard let shape = shapes[key] else { throw .badEntry(key: name, reason: "no parameter '\(key)'") }
            guard t.shape == shape else { throw .badEntry(key: name, reason: "shape \(t.shape), parameter has \(shape)") }
            restored[key, default: [:]][slot] = withNoGrad { t.contiguous() + 0 }
        }
        if let step = dict["step"] { stepCount = Int(step.item()) }
        if let lr = dict["learning_rate"] { learningRate = lr.item() }
        state = restored
    }
}
