/// Which learning-rate schedule the `Trainer` builds (`lr_scheduler_type`).
public enum ScheduleKind: String, Codable, Sendable {
    case constant, linear, cosine
}

/// Which quantity picks the best model.
public enum BestModelMetric: String, Codable, Sendable {
    /// Lowest evaluation loss.
    case loss
    /// Highest evaluation accuracy.
    case accuracy
}

/// Settings of a training run, after Hugging Face's `TrainingArguments`.
public struct TrainingArguments: Sendable {
    /// Passes over the training set.
    public var epochs = 1
    /// Examples per optimizer step.
    public var batchSize = 8
    /// The peak learning rate.
    public var learningRate: Float = 5e-5
    /// Steps of linear warm-up.
    public var warmupSteps = 0
    /// The schedule after warm-up.
    public var schedule = ScheduleKind.linear
    /// Gradient clipping by global norm; nil for none.
    public var maxGradientNorm: Float? = 1
    /// Seed of the per-epoch shuffles and of dropout.
    public var seed: UInt64 = 42
    /// Where checkpoints and the best model go; nil keeps everything in memory.
    public var outputDirectory: String?
    /// Save a checkpoint every this many steps, and at each epoch's end; nil for epoch ends only.
    public var saveSteps: Int?
    /// How the best model is chosen on the held-out split.
    public var bestModelMetric = BestModelMetric.loss
    /// Whether to draw the progress bar.
    public var showProgress = true

    /// Arguments with the defaults above.
    public init(epochs: Int = 1, batchSize: Int = 8, learningRate: Float = 5e-5, seed: UInt64 = 42) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
    }
}
