/// Shape arithmetic shared by every op: element counts, strides, broadcasting, dim normalization.
public enum Shape {
    /// Number of elements of a tensor of this shape (1 for a scalar).
    @inlinable public static func count(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape { n &*= d }
        return n
    }

    /// Row-major (C-contiguous) strides for a shape, in elements.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc &*= max(shape[i], 1)
        }
        return strides
    }

    /// The NumPy broadcast of two shapes, or nil when they are incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// A dim index in `-rank..<rank` made non-negative; traps with `op`'s name when out of range.
    public static func normalize(_ dim: Int, rank: Int, op: String) -> Int {
        let d = dim < 0 ? dim + rank : dim
        precondition(d >= 0 && d < max(rank, 1), "\(op): dim \(dim) is out of range for a tensor of rank \(rank)")
        return d
    }

    /// `reshape` target with one `-1` resolved against `count` elements; traps when it cannot hold.
    public static func resolve(_ target: [Int], count: Int, op: String = "reshape") -> [Int] {
        var inferred: Int? = nil
        var known = 1
        for (i, d) in target.enumerated() {
            if d == -1 {
                precondition(inferred == nil, "\(op): only one dim may be -1 in \(target)")
                inferred = i
            } else {
                precondition(d >= 0, "\(op): invalid dim \(d) in \(target)")
                known &*= d
            }
        }
        var out = target
        if let i = inferred {
            precondition(known != 0 && count % known == 0, "\(op): cannot reshape \(count) elements into \(target)")
            out[i] = count / known
        } else {
            precondition(known == count, "\(op): cannot reshape \(count) elements into \(target)")
        }
        return out
    }
}
