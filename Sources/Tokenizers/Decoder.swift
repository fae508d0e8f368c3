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
    /// Steps applied one after the other to the list of tokens, which is then concatenated (HF's
    /// `decode_chain`; a lone Metaspace decoder is a chain of one).
    case chain([DecodeStep])
    /// `sentencepiece`'s own decoding (a `.model` read directly).
    case sentencePiece(SentencePieceProcessor)

    func decode(_ tokens: [String]) -> String {
        switch self {
        case let .sentencePiece(processor):
            return processor.decode(tokens)
        case let .chain(steps):
            var tokens = tokens
            for step in steps { tokens = step.apply(tokens) }
            return tokens.joined()
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
    static func replacing(_ bytes: [UInt8], _ from: [UInt8], _ to: [UInt8]) -> [UInt8] {
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

/// How Metaspace adds its replacement character before a text (`prepend_scheme`).
enum PrependScheme: Sendable, Equatable {
    /// Before every piece of text between added tokens.
    case always
    /// Before the piece that starts the text only.
    case first
    case never
}

/// One decoder of a `Sequence` (decoders/{metaspace,replace,byte_fallback,fuse,strip}.rs).
enum DecodeStep: Sendable, Equatable {
    /// The replacement character back to a space; in the first token it is dropped unless the scheme is never.
    case metaspace(replacement: Character, prependScheme: PrependScheme)
    /// Every occurrence of `pattern` in each token replaced by `content`.
    case replace(pattern: String, content: String)
    /// Runs of `<0xNN>` tokens turned into the text of their bytes, or one U+FFFD per byte if not UTF-8.
    case byteFallback
    /// All tokens into one.
    case fuse
    /// Up to `start` leading and `stop` trailing `content` characters removed from each token.
    case strip(content: Character, start: Int, stop: Int)

    func apply(_ tokens: [String]) -> [String] {
        switch self {
        case let .metaspace(replacement, scheme):
            return tokens.enumerated().map { i, token in
                var out = String.UnicodeScalarView()
                for scalar in token.unicodeScalars {
                    if Character(scalar) == replacement {
                        if i != 0 || scheme == .never { out.append(" ") }
                    } else {
                        out.append(scalar)
                    }
                }
                return String(out)
            }
        case let .replace(pattern, content):
            guard !pattern.isEmpty else { return tokens }
            let from = Array(pattern.utf8), to = Array(content.utf8)
            return tokens.map { String(decoding: TokenDecoder.replacing(Array($0.utf8), from, to), as: UTF8.self) }
        case .byteFallback:
            var out: [String] = []
            var bytes: [UInt8] = []
            func flush() {
                guard !bytes.isEmpty else { return }
                if let s = String(validating: bytes, as: UTF8.self) {
                    out.append(s)
                } else {
                    out += repeatElement("\u{FFFD}", count: bytes.count)
                }
                bytes.removeAll()
            }
            for token in tokens {
                let u = Array(token.utf8)
                if u.count == 6, u.starts(with: [0x3C, 0x30, 0x78]), u[5] == 0x3E,
                   let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    bytes.append(b)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { token in
                let scalars = Array(token.unicodeScalars)
                var lo = 0
                while lo < start, lo < scalars.count, Character(scalars[lo]) == content { lo += 1 }
                var hi = scalars.count
                while scalars.count - hi < stop, hi > lo, Character(scalars[hi - 1]) == content { hi -= 1 }
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[lo..<hi])
                return String(view)
            }
        }
    }
}
