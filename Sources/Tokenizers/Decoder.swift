// Decoders as Hugging Face `tokenizers` defines them (decoders/wordpiece.rs, pre_tokenizers/byte_level.rs).

/// Turns tokens back into text.
enum TokenDecoder: Sendable, Equatable {
    /// Tokens joined with spaces.
    case none
    /// WordPiece: continuation tokens glued to the previous token, others after a space, then (per token, as
    /// HF does) the `clean_up_tokenization` replacements when `cleanup` is set.
    case wordPiece(prefix: String, cleanup: Bool)
    /// Byte-level: each token's characters mapped back to bytes, then UTF-8 decoded with U+FFFD for invalid
    /// sequences (Rust's `from_utf8_lossy`, Python's `errors="replace"`).
    case byteLevel

    func decode(_ tokens: [String]) -> String {
        switch self {
        case .none:
            return tokens.joined(separator: " ")
        case let .wordPiece(prefix, cleanup):
            var out = ""
            for (i, token) in tokens.enumerated() {
                var piece: String
                if i != 0 {
                    if !prefix.isEmpty, token.utf8.starts(with: prefix.utf8) {
                        piece = String(decoding: token.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
                    } else {
                        piece = " " + token
                    }
                } else {
                    piece = token
                }
                if cleanup { piece = TokenDecoder.cleanUp(piece) }
                out += piece
            }
            return out
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                if let raw = ByteLevel.decode(token) { bytes += raw } else { bytes += Array(token.utf8) }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// HF's `cleanup`: no space before `. ? ! ,` and in common English contractions.
    static func cleanUp(_ text: String) -> String {
        guard text.utf8.contains(0x20) else { return text }
        var bytes = Array(text.utf8)
        for (from, to) in TokenDecoder.cleanUpRules { bytes = replacing(bytes, from, to) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let cleanUpRules: [([UInt8], [UInt8])] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
        (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ].map { (Array($0.0.utf8), Array($0.1.utf8)) }

    /// Every non-overlapping occurrence of `from` replaced by `to`, left to right, byte by byte (Rust's
    /// `str::replace`; Swift's `replacing` would compare characters, not bytes).
    private static func replacing(_ bytes: [UInt8], _ from: [UInt8], _ to: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == from[0], i + from.count <= bytes.count, bytes[i..<(i + from.count)].elementsEqual(from) {
                out += to
                i += from.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
