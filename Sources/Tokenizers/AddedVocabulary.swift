// Added and special tokens as Hugging Face `tokenizers` matches them (tokenizer/added_vocabulary.rs):
// leftmost-longest, before normalization for `normalized: false` tokens and after it for the others,
// never split, with the lstrip / rstrip / single_word rules.

/// A token added to the model's vocabulary, such as `[CLS]`, `<|endoftext|>` or `<mask>`.
public struct AddedToken: Sendable, Equatable {
    /// The text of the token.
    public var content: String
    /// Its id.
    public var id: Int
    /// Whether it is a special token (skipped by `decode(_:skipSpecialTokens:)` and marked in the special
    /// tokens mask).
    public var special: Bool
    /// Whether a match takes the whitespace before it (RoBERTa's `<mask>`).
    public var lstrip: Bool
    /// Whether a match takes the whitespace after it.
    public var rstrip: Bool
    /// Whether it matches only as a whole word.
    public var singleWord: Bool
    /// Whether it is matched in the normalized text (true) or in the original text (false).
    public var normalized: Bool

    /// Describes an added token; the defaults are those of a special token.
    public init(content: String, id: Int, special: Bool = true, lstrip: Bool = false, rstrip: Bool = false,
                singleWord: Bool = false, normalized: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
        self.normalized = normalized
    }
}

/// The added tokens of a tokenizer and the two sets they are matched in.
struct AddedVocabulary: Sendable {
    struct Pattern: Sendable {
        let bytes: [UInt8]
        let token: AddedToken
    }

    /// A piece of text: either an added token's match or text to tokenize.
    struct Piece {
        let start: Int
        let end: Int
        /// The matched token's id, or nil for plain text.
        let id: Int?
    }

    let tokens: [AddedToken]
    let raw: [Pattern]
    let normalized: [Pattern]
    private let rawFirstBytes: [Bool]
    private let normalizedFirstBytes: [Bool]

    /// `normalize` gives the form in which `normalized: true` tokens are looked for.
    init(tokens: [AddedToken], normalize: (String) -> [UInt8]) {
        self.tokens = tokens
        var raw: [Pattern] = [], normalized: [Pattern] = []
        for token in tokens where !token.content.isEmpty {
            if token.normalized {
                let bytes = normalize(token.content)
                if !bytes.isEmpty { normalized.append(Pattern(bytes: bytes, token: token)) }
            } else {
                raw.append(Pattern(bytes: Array(token.content.utf8), token: token))
            }
        }
        self.raw = raw
        self.normalized = normalized
        rawFirstBytes = AddedVocabulary.firstBytes(raw)
        normalizedFirstBytes = AddedVocabulary.firstBytes(normalized)
    }

    private static func firstBytes(_ patterns: [Pattern]) -> [Bool] {
        var table = [Bool](repeating: false, count: 256)
        for pattern in patterns { table[Int(pattern.bytes[0])] = true }
        return table
    }

    /// Splits `p[lo..<hi]` on the raw (`normalized == false`) or the normalized tokens.
    func split(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, normalizedSet: Bool,
               into pieces: inout [Piece]) {
        let patterns = normalizedSet ? normalized : raw
        let first = normalizedSet ? normalizedFirstBytes : rawFirstBytes
        if patterns.isEmpty {
            if hi > lo { pieces.append(Piece(start: lo, end: hi, id: nil)) }
            return
        }
        var done = lo  // end of the last piece emitted
        var i = lo
        while i < hi {
            guard first[Int(p[i])] else { i += 1; continue }
            var best: Pattern? = nil
            for pattern in patterns where pattern.bytes.count <= hi - i && pattern.bytes.count > (best?.bytes.count ?? 0) {
                var k = 0
                while k < pattern.bytes.count, p[i + k] == pattern.bytes[k] { k += 1 }
                if k == pattern.bytes.count { best = pattern }
            }
            guard let match = best else { i += 1; continue }
            var start = i
            var stop = i + match.bytes.count
            let token = match.token
            if token.singleWord {
                let startOK = start == lo || !AddedVocabulary.isWordCharacter(before: start, p, lo)
                let stopOK = stop == hi || !AddedVocabulary.isWordCharacter(at: stop, p)
                if !startOK || !stopOK { i = stop; continue }
            }
            if token.lstrip {
                var s = start
                while s > done {
                    var k = s - 1
                    while k > lo, p[k] & 0xC0 == 0x80 { k -= 1 }
                    let (v, _) = decodeUTF8(p, at: k)
                    guard UnicodeData.classes(v).contains(.whitespace) else { break }
                    s = k
                }
                start = s
            }
            if token.rstrip {
                while stop < hi {
                    let (v, length) = decodeUTF8(p, at: stop)
                    guard UnicodeData.classes(v).contains(.whitespace) else { break }
                    stop += length
                }
            }
            if done < start { pieces.append(Piece(start: done, end: start, id: nil)) }
            pieces.append(Piece(start: start, end: stop, id: token.id))
            done = stop
            i = stop
        }
        if done < hi { pieces.append(Piece(start: done, end: hi, id: nil)) }
    }

    /// The whitespace characters `p[lo..<hi]` starts and ends with, as `leading << 8 | trailing` (HF counts
    /// them in the token's text when it trims ByteLevel offsets).
    static func whitespaceTrim(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> UInt16 {
        var scalars: [UInt32] = []
        var i = lo
        while i < hi {
            let (v, length) = decodeUTF8(p, at: i)
            scalars.append(v)
            i += length
        }
        return spaceCounts(scalars) { UnicodeData.classes($0).contains(.whitespace) }
    }

    /// How many elements of `scalars` that `isSpace` accepts start and end it, as `leading << 8 | trailing`.
    static func spaceCounts(_ scalars: [UInt32], isSpace: (UInt32) -> Bool) -> UInt16 {
        let leading = min(255, scalars.prefix(while: isSpace).count)
        let trailing = min(255, scalars.reversed().prefix(while: isSpace).count)
        return UInt16(leading) << 8 | UInt16(trailing)
    }

    private static func isWordCharacter(_ v: UInt32) -> Bool {
        v == 0x5F || !UnicodeData.classes(v).isDisjoint(with: [.letter, .number])
    }

    private static func isWordCharacter(before i: Int, _ p: UnsafeBufferPointer<UInt8>, _ lo: Int) -> Bool {
        var k = i - 1
        while k > lo, p[k] & 0xC0 == 0x80 { k -= 1 }
        return isWordCharacter(decodeUTF8(p, at: k).0)
    }

    private static func isWordCharacter(at i: Int, _ p: UnsafeBufferPointer<UInt8>) -> Bool {
        isWordCharacter(decodeUTF8(p, at: i).0)
    }
}
