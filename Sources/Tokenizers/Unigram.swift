// The Unigram model as Hugging Face `tokenizers` runs it (models/unigram/model.rs, `encode_optimized`):
// Viterbi over every vocabulary piece that starts at each character, an unknown character scored
// `min_score - 10`, consecutive unknown characters fused into one unknown token, and byte fallback
// (`<0xNN>` pieces) for an unknown token when the vocabulary has them.

/// Unigram segmentation: the sequence of vocabulary pieces with the highest total score.
final class Unigram: Sendable {
    /// Every piece, as written.
    let vocabulary: FrozenByteTable
    let scores: [Double]
    let unknownId: Int?
    let byteFallback: Bool
    /// The id of `<0xNN>` for each byte, or -1.
    let byteIds: [Int32]
    let longestEntry: Int
    /// The score of an unknown character: the lowest piece score minus 10 (HF's `K_UNK_PENALTY`).
    let unknownScore: Double

    init(pieces: [(String, Double)], unknownId: Int?, byteFallback: Bool, file: String) throws(TokenizerError) {
        var table = ByteTable(capacity: pieces.count)
        var longest = 1
        var minScore = Double.infinity
        for (id, (piece, score)) in pieces.enumerated() {
            let bytes = Array(piece.utf8)
            table.insert(bytes, value: Int32(id))
            longest = max(longest, bytes.count)
            minScore = min(minScore, score)
        }
        if let unknownId, unknownId < 0 || unknownId >= pieces.count {
            throw .invalidField(file: file, field: "model.unk_id", reason: "is \(unknownId), outside the \(pieces.count) pieces")
        }
        var byteIds = [Int32](repeating: -1, count: 256)
        if byteFallback {
            for b in 0..<256 { byteIds[b] = table.value(for: Array(Unigram.bytePiece(UInt8(b)).utf8)) ?? -1 }
        }
        vocabulary = FrozenByteTable(table)
        scores = pieces.map(\.1)
        self.unknownId = unknownId
        self.byteFallback = byteFallback
        self.byteIds = byteIds
        longestEntry = longest
        unknownScore = (pieces.isEmpty ? 0 : minScore) - 10
    }

    /// `<0xNN>` (upper-case hex), the piece byte fallback uses for byte `b`.
    static func bytePiece(_ b: UInt8) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        return String(decoding: [0x3C, 0x30, 0x78, hex[Int(b >> 4)], hex[Int(b & 15)], 0x3E], as: UTF8.self)
    }

    /// The best segmentation of `p[lo..<hi]` as (start, end, id) triples, id -1 for a run of unknown
    /// characters (fused).
    func segment(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> [(Int, Int, Int)] {
        let n = hi - lo
        var lattice = ViterbiLattice<Double>(n)
        var start = 0
        while start < n {
            let base = lattice.best[start]
            let length = min(utf8Length(p[lo + start]), n - start)
            var single = false
            var end = start
            let limit = min(n, start + longestEntry)
            while end < limit {
                end += 1
                if end < n && p[lo + end] & 0xC0 == 0x80 { continue }
                guard let id = vocabulary.value(p, lo + start, lo + end) else { continue }
                lattice.offer(start: start, end: end, score: scores[Int(id)] + base, id: Int(id))
                if end - start == length { single = true }
            }
            if !single { lattice.offer(start: start, end: start + length, score: unknownScore + base, id: -1) }
            start += length
        }
        let unknown = unknownId
        return lattice.path(n, offset: lo, unknown: -1) { $0 < 0 || $0 == unknown }
    }

    /// Appends the tokens of the normalized word `lo..<hi` to `tokens`.
    func tokenize(_ text: NormalizedView, _ lo: Int, _ hi: Int, into tokens: inout TokenList) {
        for (s, e, id) in segment(text.bytes, lo, hi) {
            let (os, oe) = text.originalSpan(s, e)
            if id >= 0 {
                tokens.append(id: id, start: os, end: oe)
                continue
            }
            // A fused unknown run that happens to spell a piece is that piece (HF looks the string up).
            if let known = vocabulary.value(text.bytes, s, e) {
                tokens.append(id: Int(known), start: os, end: oe)
            } else if byteFallback, (s..<e).allSatisfy({ byteIds[Int(text.bytes[$0])] >= 0 }) {
                for i in s..<e { tokens.append(id: Int(byteIds[Int(text.bytes[i])]), start: os, end: oe) }
            } else {
                tokens.append(id: unknownId ?? 0, start: os, end: oe)
            }
        }
    }
}
