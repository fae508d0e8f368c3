import Foundation

/// A learning-rate schedule: the factor by which the base learning rate is multiplied at a step
/// (PyTorch's `LambdaLR` lambdas, as Hugging Face's `get_*_schedule_with_warmup` define them).
///
/// ```swift
/// let schedule = LinearSchedule(warmupSteps: 10, totalSteps: 100)
/// optimizer.learningRate = baseLR * schedule.multiplier(at: step)
/// ```
public protocol LearningRateSchedule: Sendable {
    /// The factor for optimizer step `step` (0-based: the first step uses `multiplier(at: 0)`).
    func multiplier(at step: Int) -> Float
}

/// A constant learning rate.
public struct ConstantSchedule: LearningRateSchedule {
    /// A schedule that always returns 1.
    public init() {}
    /// Always 1.
    public func multiplier(at step: Int) -> Float { 1 }
}

/// Linear warm-up from 0 over `warmupSteps`, then linear decay to 0 at `totalSteps`
/// (`get_linear_schedule_with_warmup`).
public struct LinearSchedule: LearningRateSchedule {
    /// Steps of warm-up.
    public var warmupSteps: Int
    /// Step at which the rate reaches 0.
    public var totalSteps: Int

    /// A warm-up + linear-decay schedule.
    public init(warmupSteps: Int, totalSteps: Int) {
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// Warm-up ramp, then the linear decay.
    public func multiplier(at step: Int) -> Float {
        if step < warmupSteps { return Float(Double(step) / Double(Swift.max(1, warmupSteps))) }
        return Float(Swift.max(0, Double(totalSteps - step) / Double(Swift.max(1, totalSteps - warmupSteps))))
    }
}

/// Linear warm-up, then a cosine decay to 0 over `cycles` half-waves (0.5 = one half cosine)
/// (`get_cosine_schedule_with_warmup`).
public struct CosineSchedule: LearningRateSchedule {
    /// Steps of warm-up.
    public var warmupSteps: Int
    /// Step at which the cosine ends.
    public var totalSteps: Int
    /// Number of cosine cycles (0.5 decays once to 0).
    public var cycles: Double

    /// A warm-up + cosine schedule.
    public init(warmupSteps: Int, totalSteps: Int, cycles: Double = 0.5) {
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.cycles = cycles
    }

    /// Warm-up ramp, then the cosine.
    public func multiplier(at step: Int) -> Float {
        if step < warmupSteps { return Float(Double(step) / Double(Swift.max(1, warmupSteps))) }
        let progress = Double(step - warmupSteps) / Double(Swift.max(1, totalSteps - warmupSteps))
        return Float(Swift.max(0, 0.5 * (1 + cos(Double.pi * cycles * 2 * progress))))
    }
}
