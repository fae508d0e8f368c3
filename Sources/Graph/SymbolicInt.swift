/// An integer that may depend on named dynamic dims: a polynomial with integer coefficients over
/// symbols such as `batch`, `seq` and `past` (`seq + past`, `batch*seq`, `12*batch`).
///
/// Kept in a canonical form (sorted monomials, no zero terms), so equal expressions compare equal and
/// hash alike; shape arithmetic stays symbolic through a whole graph.
public struct SymbolicInt: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// A product of symbols (sorted, with repetition); empty for the constant term.
    public typealias Monomial = [String]

    /// Coefficient of each monomial; never holds a zero coefficient.
    public private(set) var terms: [Monomial: Int]

    /// A constant.
    public init(_ value: Int) { terms = value == 0 ? [:] : [[]: value] }
    public init(integerLiteral value: Int) { self.init(value) }

    /// A single symbol.
    public init(symbol name: String) { terms = [[name]: 1] }

    init(terms: [Monomial: Int]) { self.terms = terms.filter { $0.value != 0 } }

    /// The value when no symbol occurs, else nil.
    public var constant: Int? {
        if terms.isEmpty { return 0 }
        if terms.count == 1, let c = terms[[]] { return c }
        return nil
    }

    /// The symbol's name when the expression is exactly one symbol (`seq`), else nil.
    public var singleSymbol: String? {
        guard terms.count == 1, let (m, c) = terms.first, c == 1, m.count == 1 else { return nil }
        return m[0]
    }

    /// Every symbol the expression mentions.
    public var symbols: Set<String> { Set(terms.keys.flatMap { $0 }) }

    /// The value with every symbol bound; nil when a symbol is unbound.
    public func evaluate(_ bindings: [String: Int]) -> Int? {
        var total = 0
        for (monomial, coefficient) in terms {
            var product = coefficient
            for s in monomial {
                guard let v = bindings[s] else { return nil }
                product &*= v
            }
            total &+= product
        }
        return total
    }

    /// Sum. Coefficients wrap instead of trapping: shapes read from a file are bounded first
    /// (`magnitude(bounds:)`, checked by `GraphFile.load`), so a wrap only ever meets a graph that the
    /// verifier then rejects, never a crash.
    public static func + (a: SymbolicInt, b: SymbolicInt) -> SymbolicInt {
        var t = a.terms
        for (m, c) in b.terms { t[m, default: 0] &+= c }
        return SymbolicInt(terms: t)
    }

    /// The sum, or nil when a coefficient overflows.
    public func adding(_ b: SymbolicInt) -> SymbolicInt? {
        var t = terms
        for (m, c) in b.terms {
            let (r, overflow) = t[m, default: 0].addingReportingOverflow(c)
            if overflow { return nil }
            t[m] = r
        }
        return SymbolicInt(terms: t)
    }

    /// The product, or nil when a coefficient overflows.
    public func multiplied(by b: SymbolicInt) -> SymbolicInt? {
        var t: [Monomial: Int] = [:]
        for (ma, ca) in terms {
            for (mb, cb) in b.terms {
                let (p, o1) = ca.multipliedReportingOverflow(by: cb)
                let (r, o2) = t[(ma + mb).sorted(), default: 0].addingReportingOverflow(p)
                if o1 || o2 { return nil }
                t[(ma + mb).sorted()] = r
            }
        }
        return SymbolicInt(terms: t)
    }

    /// An upper bound of |value| over every binding within `bounds` (Σ |coefficient| × Π bound), or
    /// nil when a symbol has no bound or the bound overflows. Readers of untrusted graphs limit it so
    /// that shape arithmetic cannot overflow.
    public func magnitude(bounds: [String: Int]) -> Int? {
        var total = 0
        for (monomial, coefficient) in terms {
            guard coefficient != Int.min else { return nil }
            var product = Swift.abs(coefficient)
            for s in monomial {
                guard let b = bounds[s] else { return nil }
                let (r, overflow) = product.multipliedReportingOverflow(by: Swift.abs(b))
                if overflow { return nil }
                product = r
            }
            let (r, overflow) = total.addingReportingOverflow(product)
            if overflow { return nil }
            total = r
        }
        return total
    }

    /// The least and greatest value over every binding with each symbol in its `bounds` (interval
    /// arithmetic on the monomials; symbols are non-negative, as dims are), or nil when a symbol has
    /// no bound or the arithmetic overflows. Sound: every binding's value lies inside; for an affine
    /// expression (each symbol at most once per monomial, no two monomials sharing a symbol) exact.
    public func range(over bounds: [String: ClosedRange<Int>]) -> ClosedRange<Int>? {
        var lo = 0, hi = 0
        for (monomial, coefficient) in terms {
            var mlo = 1, mhi = 1
            for s in monomial {
                guard let b = bounds[s], b.lowerBound >= 0 else { return nil }
                let (l, o1) = mlo.multipliedReportingOverflow(by: b.lowerBound)
                let (h, o2) = mhi.multipliedReportingOverflow(by: b.upperBound)
                if o1 || o2 { return nil }
                (mlo, mhi) = (l, h)
            }
            let (a, o1) = coefficient.multipliedReportingOverflow(by: mlo)
            let (b, o2) = coefficient.multipliedReportingOverflow(by: mhi)
            let (l, o3) = lo.addingReportingOverflow(Swift.min(a, b))
            let (h, o4) = hi.addingReportingOverflow(Swift.max(a, b))
            if o1 || o2 || o3 || o4 { return nil }
            (lo, hi) = (l, h)
        }
        return lo...hi
    }

    public static func - (a: SymbolicInt, b: SymbolicInt) -> SymbolicInt { a + b * SymbolicInt(-1) }

    public static func * (a: SymbolicInt, b: SymbolicInt) -> SymbolicInt {
        var t: [Monomial: Int] = [:]
        for (ma, ca) in a.terms {
            for (mb, cb) in b.terms { t[(ma + mb).sorted(), default: 0] &+= ca &* cb }
        }
        return SymbolicInt(terms: t)
    }

    /// The exact quotient by a nonzero constant, or nil when a coefficient is not divisible.
    public func divided(by d: Int) -> SymbolicInt? {
        guard d != 0, terms.values.allSatisfy({ $0.magnitude % d.magnitude == 0 && !$0.dividedReportingOverflow(by: d).overflow }) else { return nil }
        return SymbolicInt(terms: terms.mapValues { $0.dividedReportingOverflow(by: d).partialValue })
    }

    /// The exact quotient by another expression when it is a constant multiple of one monomial
    /// that divides every term, or nil.
    public func divided(by other: SymbolicInt) -> SymbolicInt? {
        if let c = other.constant { return divided(by: c) }
        guard other.terms.count == 1, let (monomial, coefficient) = other.terms.first else { return nil }
        var t: [Monomial: Int] = [:]
        for (m, c) in terms {
            var rest = m
            for s in monomial {
                guard let i = rest.firstIndex(of: s) else { return nil }
                rest.remove(at: i)
            }
            guard c.magnitude % coefficient.magnitude == 0, !c.dividedReportingOverflow(by: coefficient).overflow else { return nil }
            t[rest] = c.dividedReportingOverflow(by: coefficient).partialValue
        }
        return SymbolicInt(terms: t)
    }

    /// Monomials in a stable order: higher degree first, then alphabetically.
    var orderedTerms: [(Monomial, Int)] {
        terms.sorted { a, b in
            a.key.count != b.key.count ? a.key.count > b.key.count : a.key.lexicographicallyPrecedes(b.key)
        }
    }

    /// `batch*seq + 3`, `seq + past`, `-2*seq`, `7`.
    public var description: String {
        if terms.isEmpty { return "0" }
        var out = ""
        for (i, (m, c)) in orderedTerms.enumerated() {
            let magnitude = c.magnitude   // UInt: Int.min has no Int magnitude
            let body: String
            if m.isEmpty { body = String(magnitude) }
            else { body = (magnitude == 1 ? "" : "\(magnitude)*") + m.joined(separator: "*") }
            if i == 0 { out = (c < 0 ? "-" : "") + body } else { out += (c < 0 ? " - " : " + ") + body }
        }
        return out
    }

    /// Orders constants numerically and everything else by text (for stable printing only).
    public static func < (a: SymbolicInt, b: SymbolicInt) -> Bool {
        if let x = a.constant, let y = b.constant { return x < y }
        return a.description < b.description
    }

    /// Parses the form `description` prints: integers and identifiers joined by `+`, `-`, `*`.
    public init?(parsing text: String) {
        var result = SymbolicInt(0)
        var sign = 1
        var product: SymbolicInt? = nil
        var expectOperand = true
        var chars = Array(text.unicodeScalars)[...]
        // Checked arithmetic throughout: the text may come from an untrusted file.
        var overflowed = false
        func finishProduct() {
            if let p = product {
                if let signed = p.multiplied(by: SymbolicInt(sign)), let sum = result.adding(signed) { result = sum } else { overflowed = true }
            }
            product = nil
        }
        while let c = chars.first {
            if c == " " { chars.removeFirst(); continue }
            if c == "+" || c == "-" {
                if expectOperand {
                    guard c == "-", product == nil else { return nil }
                    sign = -sign; chars.removeFirst(); continue
                }
                finishProduct(); sign = c == "-" ? -1 : 1; expectOperand = true; chars.removeFirst(); continue
            }
            if c == "*" {
                guard !expectOperand else { return nil }
                expectOperand = true; chars.removeFirst(); continue
            }
            guard expectOperand else { return nil }
            let operand: SymbolicInt
            if ("0"..."9").contains(c) {
                var n = 0
                while let d = chars.first, ("0"..."9").contains(d) {
                    let (tens, o1) = n.multipliedReportingOverflow(by: 10)
                    let (next, o2) = tens.addingReportingOverflow(Int(d.value - 48))
                    if o1 || o2 { return nil }
                    n = next
                    chars.removeFirst()
                }
                operand = SymbolicInt(n)
            } else if c.properties.isXIDStart || c == "_" {
                var name = ""
                while let d = chars.first, d.properties.isXIDContinue { name.unicodeScalars.append(d); chars.removeFirst() }
                operand = SymbolicInt(symbol: name)
            } else {
                return nil
            }
            if let p = product {
                guard let q = p.multiplied(by: operand) else { return nil }
                product = q
            } else {
                product = operand
            }
            expectOperand = false
        }
        guard !expectOperand else { return nil }
        finishProduct()
        guard !overflowed else { return nil }
        self = result
    }
}
