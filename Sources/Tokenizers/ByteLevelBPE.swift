// The BPE model as Hugging Face `tokenizers` runs it (models/bpe/model.rs): merges applied by rank, lowest
// first, leftmost on ties, with a per-word cache; over bytes for byte-level vocabularies (GPT-2), over
// characters with byte fallback and fused unknowns for SentencePiece vocabularies (Llama, Mistral).
import Locks

/// BPE: a word starts as one symbol per byte (the byte's GPT-2 character; byte-level) or per character
/// (SentencePiece vocabularies: a character not in the vocabulary becomes its `<0xNN>` byte pieces with
/// byte fallback, else the unknown token, consecutive unknowns fused with `fuseUnknown`), and the adjacent
/// pair with the lowest merge rank is merged until no pair has a rank.
final class ByteLevelBPE: Sendable {
    /// The id of each byte's character, or -1 when the vocabulary lacks it.
    let byteIds: [Int32]
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    let unknownId: Int?
    /// Whether a word that is a vocabulary entry is taken whole, before any merge (`ignore_merges`).
    let ignoreMerges: Bool
    /// Vocabulary entries by their raw bytes (used with `ignoreMerges`).
    let rawVocabulary: FrozenByteTable
    /// Vocabulary entries by their UTF-8 spelling, for character-level (non byte-level) vocabularies.
    let characters: FrozenByteTable?
    /// The id of `<0xNN>` for each byte (byte fallback), or nil.
    let byteFallbackIds: [Int32]?
    let fuseUnknown: Bool
    private let cache = LockedValue(WordCache())

    /// Words longer than this (bytes) are not cached.
    static let longestCachedWord = 256
    /// The cache is emptied when it holds this many words.
    static let cacheCapacity = 50_000

    init(vocabulary: [String: Int], merges pairs: [(String, String)], unknownToken: String?,
         ignoreMerges: Bool, byteLevel: Bool = true, byteFallback: Bool = false, fuseUnknown: Bool = false,
         file: String) throws(TokenizerError) {
        if byteLevel {
            characters = nil
        } else {
            var table = ByteTable(capacity: vocabulary.count)
            for (token, id) in vocabulary { table.insert(Array(token.utf8), value: Int32(id)) }
            characters = FrozenByteTable(table)
        }
        if byteFallback {
            var ids = [Int32](repeating: -1, count: 256)
            for b in 0..<256 { ids[b] = vocabulary[Unigram.bytePiece(UInt8(b))].map(Int32.init) ?? -1 }
            byteFallbackIds = ids
        } else {
            byteFallbackIds = nil
        }
        self.fuseUnknown = fuseUnknown
        var byteIds = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if let id = vocabulary[ByteLevel.encode([UInt8(b)])] { byteIds[b] = Int32(id) }
        }
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(pairs.count)
        for (rank, (left, right)) in pairs.enumerated() {
            guard let a = vocabulary[left] else { throw .unknownToken(file: file, field: "merges[\(rank)]", token: left) }
            guard let b = vocabulary[right] else { throw .unknownToken(file: file, field: "merges[\(rank)]", token: right) }
            guard let merged = vocabulary[left + right] else {
                throw .unknownToken(file: file, field: "merges[\(rank)]", token: left + right)
            }
            let key = UInt64(a) << 32 | UInt64(b)
            if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(merged) }
        }
        var unknownId: Int? = nil
        if let unknownToken {
            guard let id = vocabulary[unknownToken] else {
                throw .unknownToken(file: file, field: "unk_token", token: unknownToken)
            }
            unknownId = id
        }
        var raw = ByteTable(capacity: ignoreMerges ? vocabulary.count : 1)
        if ignoreMerges {
            for (token, id) in vocabulary {
                if let bytes = byteLevel ? ByteLevel.decode(token) : Array(token.utf8) { raw.insert(bytes, value: Int32(id)) }
            }
        }
        self.byteIds = byteIds
        self.merges = merges
        self.unknownId = unknownId
        self.ignoreMerges = ignoreMerges
        self.rawVocabulary = FrozenByteTable(raw)
    }

    /// Appends the tokens of the word `lo..<hi` (raw bytes of the normalized text) to `tokens`.
    func tokenize(_ text: NormalizedView, _ lo: Int, _ hi: Int, into tokens: inout TokenList) {
        let p = text.bytes
        let cacheable = hi - lo <= ByteLevelBPE.longestCachedWord
        if cacheable {
            let hit: Bool = cache.withLock { cache in
                guard let entry = cache.table.value(p, lo, hi) else { return false }
                let first = Int(cache.entryStarts[Int(entry)]), last = Int(cache.entryStarts[Int(entry) + 1])
                var position = lo
                var k = first
                while k < last {
                    let end = position + Int(cache.pieces[k + 1])
                    let (s, e) = text.originalSpan(position, end)
                    tokens.append(id: Int(cache.pieces[k]), start: s, end: e)
                    position = end
                    k += 2
                }
                return true
            }
            if hit { return }
        }
        var ids: [Int32] = []
        var starts: [Int32] = []
        if ignoreMerges, let id = rawVocabulary.value(p, lo, hi) {
            ids.append(id)
            starts.append(Int32(lo))
        } else if let characters {
            ids.reserveCapacity(hi - lo)
            starts.reserveCapacity(hi - lo)
            var unknownStart = -1
            var i = lo
            while i < hi {
                let end = min(hi, i + utf8Length(p[i]))
                defer { i = end }
                if let id = characters.value(p, i, end) {
                    if unknownStart >= 0, let unknownId { ids.append(Int32(unknownId)); starts.append(Int32(unknownStart)) }
                    unknownStart = -1
                    ids.append(id); starts.append(Int32(i))
                    continue
                }
                if let fallback = byteFallbackIds, (i..<end).allSatisfy({ fallback[Int(p[$0])] >= 0 }) {
                    for k in i..<end { ids.append(fallback[Int(p[k])]); starts.append(Int32(k)) }
                    continue
                }
                guard let unknownId else { continue }
                if unknownStart >= 0 && !fuseUnknown {
                    ids.append(Int32(unknownId)); starts.append(Int32(unknownStart))
                    unknownStart = -1
                }
                if unknownStart < 0 { unknownStart = i }
            }
            if unknownStart >= 0, let unknownId { ids.append(Int32(unknownId)); starts.append(Int32(unknownStart)) }
            merge(&ids, &starts)
        } else {
            ids.reserveCapacity(hi - lo)
            starts.reserveCapacity(hi - lo)
            for i in lo..<hi {
                let id = byteIds[Int(p[i])]
                if id >= 0 {
                    ids.append(id); starts.append(Int32(i))
                } else if let unknownId {
                    ids.append(Int32(unknownId)); starts.append(Int32(i))
                }
            }
            merge(&ids, &starts)
        }
        var pieces: [Int32] = []
        pieces.reserveCapacity(ids.count * 2)
        for k in 0..<ids.count {
            let s = Int(starts[k])
            let e = k + 1 < ids.count ? Int(starts[k + 1]) : hi
            let (os, oe) = text.originalSpan(s, e)
            tokens.append(id: Int(ids[k]), start: os, end: oe)
            pieces.append(ids[k]); pieces.append(Int32(e - s))
        }
        if cacheable {
            cache.withLock { cache in cache.insert(p, lo, hi, pieces: pieces) }
        }
    }

    /// Applies the merges to the symbols `ids` (with their byte starts), lowest rank first.
    private func merge(_ ids: inout [Int32], _ starts: inout [Int32]) {
        guard ids.count > 1 else { return }
        let none = UInt64.max
        var ranks = [UInt64](repeating: none, count: ids.count - 1)
        for i in 0..<(ids.count - 1) { ranks[i] = merges[UInt64(UInt32(ids[i])) << 32 | UInt64(UInt32(ids[i + 1]))] ?? none }
        while true {
            var best = -1
            var bestRank = none
            for i in 0..<ranks.count where ranks[i] < bestRank {
                bestRank = ranks[i]
                best = i
            }
            if best < 0 { return }
            ids[best] = Int32(truncatingIfNeeded: bestRank & 0xFFFF_FFFF)
            ids.remove(at: best + 1)
            starts.remove(at: best + 1)
            ranks.remove(at: best)
            if best > 0 {
                ranks[best - 1] = merges[UInt64(UInt32(ids[best - 1])) << 32 | UInt64(UInt32(ids[best]))] ?? none
            }
            if best < ranks.count {
                ranks[best] = merges[UInt64(UInt32(ids[best])) << 32 | UInt64(UInt32(ids[best + 1]))] ?? none
            }
        }
    }
}

/// Words already seen by a `ByteLevelBPE`, with their tokens as (id, byte length) pairs.
struct WordCache: Sendable {
    var table = ByteTable(capacity: 1024)
    var entryStarts: [Int32] = [0]
    var pieces: [Int32] = []

    mutating func insert(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, pieces new: [Int32]) {
        if table.count >= ByteLevelBPE.cacheCapacity {
            table.removeAll()
            entryStarts = [0]
            pieces.removeAll(keepingCapacity: true)
        }
        if table.value(p, lo, hi) != nil { return }
        table.insert(p, lo, hi, value: Int32(entryStarts.count - 1))
        pieces.append(contentsOf: new)
        entryStarts.append(Int32(pieces.count))
    }
}
