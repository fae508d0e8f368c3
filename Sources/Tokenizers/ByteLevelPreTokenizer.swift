// The ByteLevel pre-tokenizer of GPT-2 / RoBERTa as Hugging Face `tokenizers` implements it
// (pre_tokenizers/byte_level.rs): the byte-to-unicode alphabet and the GPT-2 split pattern.

/// The GPT-2 byte-to-unicode mapping and the GPT-2 pre-tokenization pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, as a hand-written scanner.
enum ByteLevel {
    /// The character that stands for each byte: printable Latin-1 bytes stand for themselves, the others
    /// for U+0100 onwards, in byte order.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The inverse of `byteToScalar`.
    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, v) in byteToScalar.enumerated() { map[v] = UInt8(b) }
        return map
    }()

    /// The byte-level spelling of raw bytes (e.g. " hi" → "Ġhi").
    static func encode<C: Collection<UInt8>>(_ bytes: C) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(s)
    }

    /// The raw bytes of a byte-level spelling, or nil if a character is not in the alphabet.
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            guard let b = scalarToByte[scalar.value] else { return nil }
            out.append(b)
        }
        return out
    }

    private static let letter: UInt8 = 1, number: UInt8 = 2, space: UInt8 = 3

    /// The pattern's class of the scalar at `i` (1 letter, 2 number, 3 whitespace, 0 other) and its length.
    @inline(__always)
    private static func kind(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ plane: UnsafePointer<UInt8>) -> (UInt8, Int) {
        let b = p[i]
        let cls: ScalarClass, length: Int
        if b < 0x80 {
            cls = ScalarClass(rawValue: plane[Int(b)])
            length = 1
        } else {
            let (v, l) = decodeUTF8(p, at: i)
            cls = UnicodeData.classes(v, plane)
            length = l
        }
        let k: UInt8 = cls.contains(.letter) ? 1 : cls.contains(.number) ? 2 : cls.contains(.regexWhitespace) ? 3 : 0
        return (k, length)
    }

    /// Appends the pieces of `p[lo..<hi]` under the GPT-2 pattern to `words` as pairs of byte offsets.
    static func split(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, into words: inout [Int]) {
        let plane = UnicodeData.planeZero
        var i = lo
        while i < hi {
            let b = p[i]
            // 's 't 're 've 'm 'll 'd (case-sensitive)
            if b == UInt8(ascii: "'"), i + 1 < hi {
                let c = p[i + 1]
                if c == UInt8(ascii: "s") || c == UInt8(ascii: "t") || c == UInt8(ascii: "m")
                    || c == UInt8(ascii: "d") {
                    words.append(i); words.append(i + 2); i += 2; continue
                }
                if i + 2 < hi {
                    let d = p[i + 2]
                    if (c == UInt8(ascii: "r") && d == UInt8(ascii: "e")) || (c == UInt8(ascii: "v") && d == UInt8(ascii: "e"))
                        || (c == UInt8(ascii: "l") && d == UInt8(ascii: "l")) {
                        words.append(i); words.append(i + 3); i += 3; continue
                    }
                }
            }
            // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
            let j = (b == 0x20 && i + 1 < hi) ? i + 1 : i
            let (k, length) = kind(p, j, plane)
            if k != space {
                var end = j + length
                while end < hi {
                    let (k2, l2) = kind(p, end, plane)
                    if k2 != k { break }
                    end += l2
                }
                words.append(i); words.append(end); i = end
                continue
            }
            // '\s+(?!\S)', '\s+'
            var end = i
            var last = i
            while end < hi {
                let (k2, l2) = kind(p, end, plane)
                if k2 != space { break }
                last = end
                end += l2
            }
            if end < hi && last > i { end = last }
            words.append(i); words.append(end); i = end
        }
    }
}
