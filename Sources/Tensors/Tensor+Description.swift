/// A readable printout in PyTorch's style: nested brackets, 4 decimals, the middle elided for big tensors.
extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = floatValues()
        let elide = count > 1000
        func format(_ v: Float) -> String {
            switch dtype {
            case .bool: return v != 0 ? "True" : "False"
            case .int32, .int64: return String(Int(v))
            case .float32:
                if v.isNaN { return "nan" }
                if v.isInfinite { return v > 0 ? "inf" : "-inf" }
                let magnitude = Swift.abs(v)
                if magnitude != 0 && (magnitude >= 1e8 || magnitude < 1e-4) { return formatScientific(v) }
                return formatFixed(v, decimals: 4)
            }
        }
        func render(_ dim: Int, _ base: Int, _ indent: String) -> String {
            if rank == 0 { return format(values[0]) }
            let n = shape[dim]
            let inner = Shape.count(Array(shape[(dim + 1)...]))
            var indices = Array(0..<n)
            var gap = false
            if elide && n > 6 { indices = [0, 1, 2, n - 3, n - 2, n - 1]; gap = true }
            var parts: [String] = []
            for (k, i) in indices.enumerated() {
                if gap && k == 3 { parts.append("...") }
                parts.append(dim == rank - 1 ? format(values[base + i]) : render(dim + 1, base + i * inner, indent + " "))
            }
            let separator = dim == rank - 1 ? ", " : ",\n" + String(repeating: "\n", count: Swift.max(0, rank - dim - 2)) + indent + " "
            return "[" + parts.joined(separator: separator) + "]"
        }
        var extras = ["shape: \(shape)"]
        if dtype != .float32 { extras.append("dtype: \(dtype)") }
        if requiresGrad { extras.append(isLeaf ? "requiresGrad: true" : "grad: \(gradNode!.op.name)") }
        return "tensor(" + render(0, 0, "       ") + ", " + extras.joined(separator: ", ") + ")"
    }
}

/// `v` with exactly `decimals` digits after the point.
func formatFixed(_ v: Float, decimals: Int) -> String {
    let scale = Double(Swift.max(1, (0..<decimals).reduce(1) { r, _ in r * 10 }))
    let rounded = (Double(v) * scale).rounded() / scale
    let negative = rounded < 0 || (rounded == 0 && v.sign == .minus && v != 0)
    let magnitude = Swift.abs(rounded)
    let whole = Int(magnitude)
    let fraction = Int(((magnitude - Double(whole)) * scale).rounded())
    var digits = String(fraction)
    digits = String(repeating: "0", count: Swift.max(0, decimals - digits.count)) + digits
    return (negative ? "-" : "") + String(whole) + (decimals > 0 ? "." + digits : "")
}

/// `v` as `d.dddde±XX`.
func formatScientific(_ v: Float) -> String {
    var exponent = 0
    var mantissa = Double(Swift.abs(v))
    while mantissa >= 10 { mantissa /= 10; exponent += 1 }
    while mantissa < 1 && mantissa > 0 { mantissa *= 10; exponent -= 1 }
    if mantissa.rounded() >= 10 && (mantissa * 10_000).rounded() >= 100_000 { mantissa /= 10; exponent += 1 }
    let sign = exponent < 0 ? "-" : "+"
    let e = Swift.abs(exponent)
    return (v < 0 ? "-" : "") + formatFixed(Float(mantissa), decimals: 4) + "e" + sign + (e < 10 ? "0" : "") + String(e)
}
