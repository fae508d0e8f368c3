/// Recovers a `SymbolicInt` from the values an integer took in traces run at different dim values:
/// the integer-coefficient polynomial of degree ≤ 2 that reproduces every sample exactly.
///
/// This is how the tracer learns that a reshape target was `batch*seq` or a slice end was
/// `seq + past` without the eager code ever handling symbols: it runs the code at several dim values
/// and fits. A value with no exact fit was computed in a way the graph cannot express.
enum SymbolicFit {
    /// The basis monomials for `symbols`: 1, each symbol, and each product of two, leaving out squares
    /// of symbols sampled at fewer than three values (they cannot be told apart from lower terms).
    static func basis(_ symbols: [String], distinctValues: [String: Int]) -> [SymbolicInt.Monomial] {
        var out: [SymbolicInt.Monomial] = [[]]
        for s in symbols { out.append([s]) }
        for (i, a) in symbols.enumerated() {
            for b in symbols[i...] where a != b || (distinctValues[a] ?? 0) >= 3 { out.append([a, b].sorted()) }
        }
        return out
    }

    /// The polynomial matching every `(bindings, value)` sample, or nil when none exists.
    /// Samples must come from `SymbolicFit.design` so the system is well posed.
    static func fit(_ samples: [([String: Int], Int)], symbols: [String]) -> SymbolicInt? {
        guard let first = samples.first else { return nil }
        if samples.allSatisfy({ $0.1 == first.1 }) { return SymbolicInt(first.1) }
        var distinct: [String: Set<Int>] = [:]
        for (bindings, _) in samples { for s in symbols { distinct[s, default: []].insert(bindings[s]!) } }
        let monomials = basis(symbols, distinctValues: distinct.mapValues(\.count))
        let rows = samples.map { bindings, _ in
            monomials.map { m in Double(m.reduce(1) { $0 * bindings[$1]! }) }
        }
        let rhs = samples.map { Double($0.1) }
        guard let solution = leastSquares(rows, rhs) else { return nil }
        var terms: [SymbolicInt.Monomial: Int] = [:]
        for (m, c) in zip(monomials, solution) {
            let r = c.rounded()
            guard Swift.abs(c - r) < 1e-6 else { return nil }
            if r != 0 { terms[m] = Int(r) }
        }
        let candidate = SymbolicInt(terms: terms)
        for (bindings, value) in samples where candidate.evaluate(bindings) != value { return nil }
        return candidate
    }

    /// Solves the normal equations by Gaussian elimination with partial pivoting; nil if singular.
    private static func leastSquares(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        let n = a[0].count
        var m = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
        for i in 0..<n {
            for j in 0..<n { m[i][j] = zip(a, a).reduce(0) { $0 + $1.0[i] * $1.1[j] } }
            m[i][n] = zip(a, b).reduce(0) { $0 + $1.0[i] * $1.1 }
        }
        for col in 0..<n {
            guard let pivot = (col..<n).max(by: { Swift.abs(m[$0][col]) < Swift.abs(m[$1][col]) }),
                  Swift.abs(m[pivot][col]) > 1e-9 else { return nil }
            m.swapAt(col, pivot)
            for r in 0..<n where r != col {
                let f = m[r][col] / m[col][col]
                if f != 0 { for c in col...n { m[r][c] -= f * m[col][c] } }
            }
        }
        return (0..<n).map { m[$0][n] / m[$0][$0] }
    }

    /// Dim values to trace at so that `fit` is determined: a base point, two more values of each
    /// symbol alone, each pair moved together, and a validation point. Values avoid 1 (which
    /// broadcasts) and stay within each symbol's bound.
    static func design(_ bounds: [(name: String, max: Int)]) -> [[String: Int]]? {
        let preferred = [5, 3, 7, 2, 4, 6, 8, 9, 11, 13, 1]
        var values: [String: [Int]] = [:]
        for (name, max) in bounds {
            let v = preferred.filter { $0 <= max }
            guard v.count >= 2 else { return nil }
            // Fewer than four values: reuse the last (the square term or the validation point is lost).
            values[name] = (0..<4).map { v[Swift.min($0, v.count - 1)] }
        }
        let names = bounds.map(\.name)
        let base = Dictionary(uniqueKeysWithValues: names.map { ($0, values[$0]![0]) })
        var points = [base]
        for n in names {
            for k in 1...2 { var p = base; p[n] = values[n]![k]; points.append(p) }
        }
        for (i, a) in names.enumerated() {
            for b in names[(i + 1)...] { var p = base; p[a] = values[a]![1]; p[b] = values[b]![1]; points.append(p) }
        }
        points.append(Dictionary(uniqueKeysWithValues: names.map { ($0, values[$0]![3]) }))
        return points
    }
}
