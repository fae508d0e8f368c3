/// Something that watches every primitive op the eager code runs — the hook a tracer uses to record a
/// graph from unchanged eager code.
public protocol OpObserver: AnyObject, Sendable {
    /// Called before `op` runs on `inputs`: a result returned here is used instead of running the
    /// kernel (a tracer returns shape-only placeholders for values nobody will read).
    func willApply(_ op: TensorOp, inputs: [Tensor]) -> Tensor?
    /// Called after `op` ran on `inputs` and produced `output`.
    func didApply(_ op: TensorOp, inputs: [Tensor], output: Tensor)
    /// Called when eager code reads `tensor`'s contents on the host (`item()`, `toFloatArray()`, …).
    func didRead(_ tensor: Tensor)
}

extension OpObserver {
    /// Runs every kernel.
    public func willApply(_ op: TensorOp, inputs: [Tensor]) -> Tensor? { nil }
}

/// The observer active in the current task, if any.
public enum OpObservation {
    @TaskLocal static var current: (any OpObserver)? = nil

    /// Runs `body` with `observer` seeing every op it applies.
    public static func observing<R>(_ observer: any OpObserver, _ body: () throws -> R) rethrows -> R {
        try $current.withValue(observer) { try body() }
    }
}
