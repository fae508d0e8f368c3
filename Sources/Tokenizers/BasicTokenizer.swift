// BERT's basic tokenization, as Hugging Face `tokenizers` does it: BertNormalizer (normalizers/bert.rs)
// then BertPreTokenizer (pre_tokenizers/bert.rs).

/// BertNormalizer: removes control characters, maps whitespace to ' ', puts spaces around CJK ideographs,
/// strips accents (NFD, then drop non-spacing marks) and lower-cases, each as configured.
struct BertNormalizer: Sendable, Equatable {
    var cleanText = true
    var handleChineseChars = true
    var stripAccents = true
    var lowercase = true

    /// Normalizes the original bytes `p[lo..<hi]`, appending to `out`.
    func normalize(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, into out: inout NormalizedText) {
        var scratch: [UInt32] = []
        let plane = UnicodeData.planeZero
        var i = lo
        while i < hi {
            let b = p[i]
            if b < 0x80 {
                let cls = ScalarClass(rawValue: plane[Int(b)])
                let start = Int32(i)
                i += 1
                if cleanText {
                    if cls.contains(.removed) { continue }
                    if cls.contains(.whitespace) { out.append(byte: 0x20, start: start, end: start + 1); continue }
                }
                let lowered = lowercase && b >= 0x41 && b <= 0x5A ? b + 0x20 : b
                out.append(byte: lowered, start: start, end: start + 1)
                continue
            }
            let (v, length) = decodeUTF8(p, at: i)
            let start = Int32(i), end = Int32(i + length)
            i += length
            let cls = UnicodeData.classes(v, plane)
            if cleanText {
                if cls.contains(.removed) { continue }
                if cls.contains(.whitespace) { out.append(byte: 0x20, start: start, end: end); continue }
            }
            let chinese = handleChineseChars && UnicodeData.isChinese(v)
            if chinese { out.append(byte: 0x20, start: start, end: end) }
            if !cls.contains(.mapped) {
                if !(stripAccents && cls.contains(.nonspacingMark)) { out.append(scalar: v, start: start, end: end) }
            } else {
                scratch.removeAll(keepingCapacity: true)
                if stripAccents {
                    var decomposed: [UInt32] = []
                    UnicodeData.appendDecomposition(of: v, to: &decomposed)
                    for d in decomposed where !UnicodeData.classes(d).contains(.nonspacingMark) { scratch.append(d) }
                } else {
                    scratch.append(v)
                }
                if lowercase {
                    let upper = scratch
                    scratch.removeAll(keepingCapacity: true)
                    for u in upper { UnicodeData.appendLowercase(of: u, to: &scratch) }
                }
                for s in scratch { out.append(scalar: s, start: start, end: end) }
            }
            if chinese { out.append(byte: 0x20, start: start, end: end) }
        }
    }

    /// The normalized form of a whole string (for added tokens with `normalized: true`).
    func normalize(_ string: String) -> [UInt8] {
        var text = NormalizedText()
        var copy = string
        copy.withUTF8 { normalize($0, 0, $0.count, into: &text) }
        return text.bytes
    }
}

/// BertPreTokenizer: splits on whitespace (removed) and on punctuation (each punctuation character is a word).
enum BertPreTokenizer {
    /// Appends the words of normalized bytes `lo..<hi` to `words` as pairs of byte offsets.
    static func split(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, into words: inout [Int]) {
        var wordStart = -1
        let plane = UnicodeData.planeZero
        var i = lo
        while i < hi {
            let b = p[i]
            let v: UInt32, length: Int
            if b < 0x80 { v = UInt32(b); length = 1 } else { (v, length) = decodeUTF8(p, at: i) }
            let cls = UnicodeData.classes(v, plane)
            if cls.contains(.whitespace) {
                if wordStart >= 0 { words.append(wordStart); words.append(i); wordStart = -1 }
            } else if cls.contains(.bertPunctuation) {
                if wordStart >= 0 { words.append(wordStart); words.append(i); wordStart = -1 }
                words.append(i)
                words.append(i + length)
            } else if wordStart < 0 {
                wordStart = i
            }
            i += length
        }
        if wordStart >= 0 { words.append(wordStart); words.append(hi) }
    }
}
