/// Creating tensors: from Swift values, filled, ranges and seeded random.
extension Tensor {
    /// A float32 tensor holding `values` with `shape` (row-major).
    ///
    /// ```swift
    /// let x = Tensor([1, 2, 3, 4], shape: [2, 2])
    /// ```
    public convenience init(_ values: [Float], shape: [Int]) {
        precondition(values.count == Shape.count(shape), "Tensor: \(values.count) values do not fill shape \(shape)")
        let storage = Storage(uninitializedByteCount: values.count * 4)
        values.withUnsafeBytes { storage.base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        self.init(storage: storage, shape: shape, dtype: .float32)
    }

    /// A 1-D float32 tensor.
    public convenience init(_ values: [Float]) { self.init(values, shape: [values.count]) }

    /// A 2-D float32 tensor from rows of equal length.
    public convenience init(_ rows: [[Float]]) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "Tensor: rows have different lengths")
        self.init(rows.flatMap { $0 }, shape: [rows.count, columns])
    }

    /// A 0-d float32 tensor.
    public convenience init(_ scalar: Float) { self.init([scalar], shape: []) }

    /// An integer tensor (ids, indices, labels) of `dtype` `.int64` (default) or `.int32`.
    public convenience init(_ values: [Int], shape: [Int], dtype: DType = .int64) {
        precondition(values.count == Shape.count(shape), "Tensor: \(values.count) values do not fill shape \(shape)")
        precondition(dtype.isInteger, "Tensor: integer values need an integer dtype, not \(dtype)")
        let storage = Storage(uninitializedByteCount: values.count * dtype.byteSize)
        if dtype == .int64 {
            let p = storage.base.assumingMemoryBound(to: Int64.self)
            for (i, v) in values.enumerated() { p[i] = Int64(v) }
        } else {
            let p = storage.base.assumingMemoryBound(to: Int32.self)
            for (i, v) in values.enumerated() {
                precondition(v >= Int(Int32.min) && v <= Int(Int32.max), "Tensor: \(v) does not fit int32")
                p[i] = Int32(v)
            }
        }
        self.init(storage: storage, shape: shape, dtype: dtype)
    }

    /// A 1-D int64 tensor.
    public convenience init(_ values: [Int]) { self.init(values, shape: [values.count]) }

    /// A bool mask.
    public convenience init(_ values: [Bool], shape: [Int]) {
        precondition(values.count == Shape.count(shape), "Tensor: \(values.count) values do not fill shape \(shape)")
        let storage = Storage(uninitializedByteCount: values.count)
        let p = storage.base.assumingMemoryBound(to: Bool.self)
        for (i, v) in values.enumerated() { p[i] = v }
        self.init(storage: storage, shape: shape, dtype: .bool)
    }

    /// A tensor of `shape` filled with zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor { full(shape, 0, dtype: dtype) }

    /// Zeros that cost nothing until written: every storage of a page or more is fresh anonymous memory.
    /// For parameters that a checkpoint load replaces before anything reads them (MiniLM's model had
    /// 15 MB of 576 KB projections set to zero, 20 % of `tcompile export`'s page faults).
    public static func placeholder(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(storage: Storage(zeroedByteCount: Shape.count(shape) * dtype.byteSize, freshPagesFrom: 4096), shape: shape, dtype: dtype)
    }

    /// A tensor of `shape` filled with ones.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor { full(shape, 1, dtype: dtype) }

    /// A tensor of `shape` filled with `value`.
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32) -> Tensor {
        precondition(shape.allSatisfy { $0 >= 0 }, "full: negative dim in \(shape)")
        return apply(.fill(value, shape: shape, dtype: dtype), [])
    }

    /// A tensor of the same shape as `other` filled with zeros.
    public static func zeros(like other: Tensor) -> Tensor { zeros(other.shape, dtype: other.dtype) }

    /// `0, 1, …, end − 1` (`torch.arange(end)`); int64 unless `dtype` says otherwise.
    public static func arange(_ end: Int, dtype: DType = .int64) -> Tensor { arange(0, end, dtype: dtype) }

    /// `start, start + step, …` below `end` (`torch.arange`); int64 unless `dtype` says otherwise.
    public static func arange(_ start: Int, _ end: Int, step: Int = 1, dtype: DType = .int64) -> Tensor {
        precondition(step != 0, "arange: step must not be 0")
        precondition(dtype != .bool, "arange: a bool range is not meaningful")
        return apply(.arange(start: start, end: end, step: step, dtype: dtype), [])
    }

    /// Uniform samples in `[low, high)` from `generator`.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               generator: inout RandomGenerator) -> Tensor {
        let n = Shape.count(shape)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = low + (high - low) * generator.nextUnitFloat() }
        return Tensor(values, shape: shape)
    }

    /// Normal samples with `mean` and `std` from `generator`.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                              generator: inout RandomGenerator) -> Tensor {
        let n = Shape.count(shape)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = mean + std * generator.nextNormal() }
        return Tensor(values, shape: shape)
    }

    /// Bernoulli samples: 1 with probability `p`, else 0 (float32).
    public static func bernoulli(_ shape: [Int], p: Float, generator: inout RandomGenerator) -> Tensor {
        let n = Shape.count(shape)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = generator.nextUnitFloat() < p ? 1 : 0 }
        return Tensor(values, shape: shape)
    }

    /// Uniform samples in `[low, high)`: from a generator seeded with `seed`, or the default generator.
    public static func rand(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64? = nil) -> Tensor {
        if let seed { var g = RandomGenerator(seed: seed); return uniform(shape, low: low, high: high, generator: &g) }
        return DefaultGenerator.with { uniform(shape, low: low, high: high, generator: &$0) }
    }

    /// Standard normal samples: from a generator seeded with `seed`, or the default generator.
    public static func randn(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64? = nil) -> Tensor {
        if let seed { var g = RandomGenerator(seed: seed); return normal(shape, mean: mean, std: std, generator: &g) }
        return DefaultGenerator.with { normal(shape, mean: mean, std: std, generator: &$0) }
    }

    /// Random integers in `low..<high` (int64), e.g. token ids for tests.
    public static func randint(_ low: Int, _ high: Int, shape: [Int], seed: UInt64? = nil) -> Tensor {
        precondition(high > low, "randint: empty range \(low)..<\(high)")
        func draw(_ g: inout RandomGenerator) -> Tensor {
            Tensor((0..<Shape.count(shape)).map { _ in low + Int(g.next() % UInt64(high - low)) }, shape: shape)
        }
        if let seed { var g = RandomGenerator(seed: seed); return draw(&g) }
        return DefaultGenerator.with { draw(&$0) }
    }
}
