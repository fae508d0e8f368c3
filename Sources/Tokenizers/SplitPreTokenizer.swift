// HF `tokenizers`' Split pre-tokenizer (pre_tokenizers/split.rs) for the patterns real checkpoints
// use: a literal string, or the GPT-4-style regex of Qwen2 and Llama 3, matched by a hand-written
// scanner with the same Unicode classes as the GPT-2 pattern (onig's `\p{L}`, `\p{N}`, `\s`).

/// What a Split pre-tokenizer splits on, and what it does with the matches (`behavior`, `invert`).
struct SplitRule: Sendable, Equatable {
    /// The pattern: a literal, or one of the regexes the scanner implements.
    enum Pattern: Sendable, Equatable {
        /// `{"String": s}`.
        case literal([UInt8])
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`:
        /// Qwen2's (`\p{N}`, one digit) and Llama 3's / cl100k's (`\p{N}{1,3}`).
        case wordsAndDigits(maxDigits: Int)
    }

    /// `SplitDelimiterBehavior`: what becomes of each match.
    enum Behavior: String, Sendable, Equatable {
        case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
        case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
    }

    var pattern: Pattern
    var behavior: Behavior
    var invert: Bool

    /// The regexes the scanner implements, by their text in tokenizer.json.
    static let knownRegexes: [String: Pattern] = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .wordsAndDigits(maxDigits: 1),
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .wordsAndDigits(maxDigits: 3),
    ]

    /// Appends the pieces of `p[lo..<hi]` to `words` as pairs of byte offsets (empty pieces dropped).
    func split(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, into words: inout [Int]) {
        // Matches as (start, end), in order, not overlapping.
        var matches: [(Int, Int)] = []
        switch pattern {
        case let .literal(key):
            var i = lo
            if !key.isEmpty {
                while i + key.count <= hi {
                    if p[i] == key[0] && p[i..<(i + key.count)].elementsEqual(key) {
                        matches.append((i, i + key.count))
                        i += key.count
                    } else {
                        i += 1
                    }
                }
            }
        case let .wordsAndDigits(maxDigits):
            var i = lo
            while i < hi {
                let end = SplitRule.matchWordsAndDigits(p, i, hi, maxDigits: maxDigits)
                matches.append((i, end))
                i = end
            }
        }
        // Pieces: (start, end, isMatch), covering lo..<hi.
        var pieces: [(Int, Int, Bool)] = []
        var at = lo
        for (s, e) in matches {
            if s > at { pieces.append((at, s, false)) }
            pieces.append((s, e, true))
            at = e
        }
        if at < hi { pieces.append((at, hi, false)) }
        if invert { pieces = pieces.map { ($0.0, $0.1, !$0.2) } }
        // As split.rs folds them: a match joins its neighbour only when that neighbour is not a match.
        var out: [(Int, Int)] = []
        var previousMatch = false
        switch behavior {
        case .removed:
            out = pieces.filter { !$0.2 }.map { ($0.0, $0.1) }
        case .isolated:
            out = pieces.map { ($0.0, $0.1) }
        case .mergedWithPrevious:
            for piece in pieces {
                if piece.2 && !previousMatch && !out.isEmpty { out[out.count - 1].1 = piece.1 } else { out.append((piece.0, piece.1)) }
                previousMatch = piece.2
            }
        case .mergedWithNext:
            for piece in pieces.reversed() {
                if piece.2 && !previousMatch && !out.isEmpty { out[out.count - 1].0 = piece.0 } else { out.append((piece.0, piece.1)) }
                previousMatch = piece.2
            }
            out.reverse()
        case .contiguous:
            for piece in pieces {
                if piece.2 == previousMatch && !out.isEmpty { out[out.count - 1].1 = piece.1 } else { out.append((piece.0, piece.1)) }
                previousMatch = piece.2
            }
        }
        for (s, e) in out where e > s {
            words.append(s)
            words.append(e)
        }
    }

    private static let letter: UInt8 = 1, number: UInt8 = 2, space: UInt8 = 3, other: UInt8 = 0

    /// The class of the scalar at `i` (letter, number, whitespace as onig's `\s`, other), its value and length.
    @inline(__always)
    private static func scalar(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (kind: UInt8, value: UInt32, length: Int) {
        let (v, l) = p[i] < 0x80 ? (UInt32(p[i]), 1) : decodeUTF8(p, at: i)
        let cls = UnicodeData.classes(v, UnicodeData.planeZero)
        let k: UInt8 = cls.contains(.letter) ? letter : cls.contains(.number) ? number : cls.contains(.regexWhitespace) ? space : other
        return (k, v, l)
    }

    /// The end of the match of the GPT-4-style pattern at `i` (every scalar starts some alternative, so
    /// a match always exists and is not empty). The alternatives are tried in order, as onig does.
    static func matchWordsAndDigits(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ hi: Int, maxDigits: Int) -> Int {
        let first = scalar(p, i)
        // (?i:'s|'t|'re|'ve|'m|'ll|'d): ASCII letters in either case, and ſ (U+017F), which folds to s.
        if first.value == 0x27, i + 1 < hi {
            let c = scalar(p, i + 1)
            let lower = c.value < 0x80 ? c.value | 0x20 : c.value
            if lower == 0x73 || lower == 0x74 || lower == 0x6D || lower == 0x64 || c.value == 0x17F {   // s t m d
                return i + 1 + c.length
            }
            if i + 1 + c.length < hi {
                let d = scalar(p, i + 1 + c.length)
                let lowerD = d.value < 0x80 ? d.value | 0x20 : d.value
                if (lower == 0x72 && lowerD == 0x65) || (lower == 0x76 && lowerD == 0x65) || (lower == 0x6C && lowerD == 0x6C) {
                    return i + 1 + c.length + d.length    // re ve ll
                }
            }
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var start = i
        if first.kind != letter && first.kind != number && first.value != 0x0D && first.value != 0x0A, i + first.length < hi,
           scalar(p, i + first.length).kind == letter {
            start = i + first.length
        }
        if start > i || first.kind == letter {
            var end = start
            while end < hi {
                let s = scalar(p, end)
                guard s.kind == letter else { break }
                end += s.length
            }
            return end
        }
        // \p{N}{1,maxDigits}
        if first.kind == number {
            var end = i, count = 0
            while end < hi, count < maxDigits {
                let s = scalar(p, end)
                guard s.kind == number else { break }
                end += s.length
                count += 1
            }
            return end
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        var j = i
        if first.value == 0x20, i + 1 < hi, scalar(p, i + 1).kind == other { j = i + 1 }
        if scalar(p, j).kind == other {
            var end = j
            while end < hi {
                let s = scalar(p, end)
                guard s.kind == other else { break }
                end += s.length
            }
            while end < hi, p[end] == 0x0D || p[end] == 0x0A { end += 1 }
            return end
        }
        // Whitespace from here: the maximal run, and the end of its last \r or \n.
        var end = i, lastNewline = -1, lastStart = i
        while end < hi {
            let s = scalar(p, end)
            guard s.kind == space else { break }
            if s.value == 0x0D || s.value == 0x0A { lastNewline = end + 1 }
            lastStart = end
            end += s.length
        }
        // \s*[\r\n]+
        if lastNewline > 0 { return lastNewline }
        // \s+(?!\S): the run, less its last scalar when a non-space follows; else \s+
        if end < hi && lastStart > i { return lastStart }
        return end
    }
}
