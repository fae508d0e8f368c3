/// Whether ops record the autograd graph in the current task/thread (`torch.is_grad_enabled`).
public enum GradMode {
    @TaskLocal static var enabled = true

    /// Whether gradients are being recorded here.
    public static var isEnabled: Bool { enabled }
}

/// Runs `body` without recording gradients (`torch.no_grad()`): for inference and optimizer updates.
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$enabled.withValue(false) { try body() }
}

/// Runs `body` with gradient recording on or off (`torch.set_grad_enabled`).
public func withGradEnabled<R>(_ enabled: Bool, _ body: () throws -> R) rethrows -> R {
    try GradMode.$enabled.withValue(enabled) { try body() }
}
