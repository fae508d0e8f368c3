import Tensors

/// A shared, mutable random generator: what layer initializers and dropout draw from inside
/// `withRandomGenerator`. Its `state` can be saved and restored, so a resumed training run draws the
/// same dropout masks as an uninterrupted one.
public final class GeneratorBox: @unchecked Sendable {
    /// The generator itself.
    public var generator: RandomGenerator

    /// A box holding a generator seeded with `seed`.
    public init(seed: UInt64) { generator = RandomGenerator(seed: seed) }

    /// A box holding `generator`.
    public init(_ generator: RandomGenerator) { self.generator = generator }
}

/// Where NN randomness comes from: the task-local box set by `withRandomGenerator`, else the process
/// default generator. Parallel tests each use their own box and stay deterministic.
public enum NNRandom {
    @TaskLocal static var box: GeneratorBox?

    /// Runs `body` with exclusive use of the current generator.
    public static func draw<R>(_ body: (inout RandomGenerator) -> R) -> R {
        if let box { return body(&box.generator) }
        return DefaultGenerator.with { body(&$0) }
    }
}

/// Runs `body` with every NN initializer and dropout inside it drawing from `box`.
///
/// ```swift
/// let model = withRandomGenerator(GeneratorBox(seed: 42)) { MLP() }
/// ```
public func withRandomGenerator<R>(_ box: GeneratorBox, _ body: () throws -> R) rethrows -> R {
    try NNRandom.$box.withValue(box) { try body() }
}

/// Runs `body` drawing from a fresh generator seeded with `seed`.
public func withRandomGenerator<R>(seed: UInt64, _ body: () throws -> R) rethrows -> R {
    try withRandomGenerator(GeneratorBox(seed: seed), body)
}
