/// The one rule for names that become C identifiers: a compiled model's name (`libNAME.a`, `NAME_run`,
/// `NAME.h`, the Swift module) and the default name made from a checkpoint directory. ASCII letters,
/// digits and `_`, not starting with a digit — the intersection of what C, the Swift module map and
/// LLVM symbol names accept without quoting.
public enum CIdentifier {
    /// Whether `name` is usable as is.
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !(first.value >= 48 && first.value <= 57) else { return false }
        return name.unicodeScalars.allSatisfy(isIdentifierScalar)
    }

    /// `name` made valid: every other character becomes `_`, and a name that would start with a digit
    /// (an HF cache snapshot hash, a directory called `2layer`) or is empty gets the prefix `model_`.
    public static func make(from name: String) -> String {
        let body = String(String.UnicodeScalarView(name.unicodeScalars.map { isIdentifierScalar($0) ? $0 : "_" }))
        return isValid(body) ? body : "model_" + body
    }

    private static func isIdentifierScalar(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 48...57, 65...90, 97...122, 95: true
        default: false
        }
    }
}
