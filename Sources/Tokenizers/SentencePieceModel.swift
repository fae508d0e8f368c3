// SentencePiece `.model` files (the protobuf `ModelProto` of sentencepiece_model.proto) and the encoding the
// `sentencepiece` library gives for them (normalizer.cc, unigram_model.cc, bpe_model.cc,
// sentencepiece_processor.cc): used for checkpoints that ship no tokenizer.json.

/// The parts of a `ModelProto` that encoding and decoding use.
struct SentencePieceModelProto: Sendable {
    enum PieceType: UInt8, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }
    enum ModelType: Int, Sendable { case unigram = 1, bpe = 2, word = 3, char = 4 }

    var pieces: [String] = []
    var scores: [Float] = []
    var types: [PieceType] = []
    var modelType = ModelType.unigram
    var byteFallback = false
    var treatWhitespaceAsSuffix = false
    var unknownSurface = " \u{2047} "
    var normalizerName = ""
    var charsmap: [UInt8] = []
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true

    /// Parses a serialized `ModelProto`; `file` names it in errors.
    init(_ bytes: [UInt8], file: String) throws(TokenizerError) {
        var message = ProtobufReader(bytes, 0, bytes.count, file: file)
        var sawNormalizer = false, sawTrainer = false
        while let (number, wire) = try message.nextField() {
            switch number {
            case 1:
                try message.expect(.lengthDelimited, wire, "pieces")
                let range = try message.lengthDelimited()
                var piece = ProtobufReader(bytes, range.lowerBound, range.upperBound, file: file)
                var text: String? = nil, score: Float = 0, type = PieceType.normal
                while let (n, w) = try piece.nextField() {
                    switch n {
                    case 1: try piece.expect(.lengthDelimited, w, "pieces.piece"); text = try piece.string()
                    case 2: try piece.expect(.fixed32, w, "pieces.score"); score = Float(bitPattern: try piece.fixed32())
                    case 3:
                        try piece.expect(.varint, w, "pieces.type")
                        let raw = try piece.varint()
                        guard let t = PieceType(rawValue: UInt8(truncatingIfNeeded: raw)), raw < 256 else {
                            throw message.error("piece \(pieces.count) has an unknown type \(raw)")
                        }
                        type = t
                    default: try piece.skip(w)
                    }
                }
                guard let text, !text.isEmpty else { throw message.error("piece \(pieces.count) has no text") }
                pieces.append(text)
                scores.append(score)
                types.append(type)
            case 2:
                try message.expect(.lengthDelimited, wire, "trainer_spec")
                sawTrainer = true
                let range = try message.lengthDelimited()
                var spec = ProtobufReader(bytes, range.lowerBound, range.upperBound, file: file)
                while let (n, w) = try spec.nextField() {
                    switch n {
                    case 3:
                        try spec.expect(.varint, w, "trainer_spec.model_type")
                        let raw = try spec.varint()
                        guard raw < 8, let t = ModelType(rawValue: Int(raw)) else { throw spec.error("unknown model_type \(raw)") }
                        modelType = t
                    case 24: try spec.expect(.varint, w, "trainer_spec.treat_whitespace_as_suffix"); treatWhitespaceAsSuffix = try spec.varint() != 0
                    case 35: try spec.expect(.varint, w, "trainer_spec.byte_fallback"); byteFallback = try spec.varint() != 0
                    case 44: try spec.expect(.lengthDelimited, w, "trainer_spec.unk_surface"); unknownSurface = try spec.string()
                    default: try spec.skip(w)
                    }
                }
            case 3:
                try message.expect(.lengthDelimited, wire, "normalizer_spec")
                sawNormalizer = true
                let range = try message.lengthDelimited()
                var spec = ProtobufReader(bytes, range.lowerBound, range.upperBound, file: file)
                while let (n, w) = try spec.nextField() {
                    switch n {
                    case 1: try spec.expect(.lengthDelimited, w, "normalizer_spec.name"); normalizerName = try spec.string()
                    case 2: try spec.expect(.lengthDelimited, w, "normalizer_spec.precompiled_charsmap"); charsmap = Array(bytes[try spec.lengthDelimited()])
                    case 3: try spec.expect(.varint, w, "normalizer_spec.add_dummy_prefix"); addDummyPrefix = try spec.varint() != 0
                    case 4: try spec.expect(.varint, w, "normalizer_spec.remove_extra_whitespaces"); removeExtraWhitespaces = try spec.varint() != 0
                    case 5: try spec.expect(.varint, w, "normalizer_spec.escape_whitespaces"); escapeWhitespaces = try spec.varint() != 0
                    default: try spec.skip(w)
                    }
                }
            default:
                try message.skip(wire)
            }
        }
        guard !pieces.isEmpty else { throw message.error("it has no pieces") }
        guard sawTrainer else { throw message.error("it has no trainer_spec") }
        guard sawNormalizer else { throw message.error("it has no normalizer_spec") }
        guard types.contains(.unknown) else { throw message.error("it has no UNKNOWN piece") }
        guard modelType == .unigram || modelType == .bpe else {
            throw .unsupported(file: file, component: "SentencePiece model_type", detail: "\(modelType)")
        }
        if treatWhitespaceAsSuffix {
            throw .unsupported(file: file, component: "SentencePiece trainer_spec", detail: "treat_whitespace_as_suffix")
        }
    }
}

/// Encoding and decoding as `sentencepiece`'s `SentencePieceProcessor` does: its normalizer (precompiled
/// rules by longest prefix, user-defined symbols kept, extra spaces removed, the dummy prefix, spaces as
/// `▁`), then Viterbi (unigram, float scores, unknown runs fused) or score-ordered merges (BPE), byte
/// fallback for unknown pieces.
final class SentencePieceProcessor: Sendable, Equatable {
    static func == (a: SentencePieceProcessor, b: SentencePieceProcessor) -> Bool { a === b }

    let proto: SentencePieceModelProto
    let charsmap: PrecompiledCharsmap
    /// NORMAL, USER_DEFINED and UNUSED pieces (the ones segmentation may produce).
    let pieces: FrozenByteTable
    /// Every piece, for spellings.
    let all: FrozenByteTable
    let userDefined: FrozenByteTable
    let longestUserDefined: Int
    let longestPiece: Int
    let unknownId: Int
    let byteIds: [Int32]
    let minScore: Float
    let maxScore: Float

    init(_ proto: SentencePieceModelProto, file: String) throws(TokenizerError) {
        self.proto = proto
        charsmap = try PrecompiledCharsmap(proto.charsmap, file: file, field: "normalizer_spec.precompiled_charsmap")
        var pieces = ByteTable(capacity: proto.pieces.count)
        var all = ByteTable(capacity: proto.pieces.count)
        var user = ByteTable(capacity: 16)
        var longestUser = 0, longest = 1
        var minScore = Float.greatestFiniteMagnitude, maxScore = -Float.greatestFiniteMagnitude
        for (id, piece) in proto.pieces.enumerated() {
            let bytes = Array(piece.utf8)
            if all.value(for: bytes) != nil { throw .notSentencePieceModel(file: file, reason: "piece '\(piece)' appears twice") }
            all.insert(bytes, value: Int32(id))
            switch proto.types[id] {
            case .normal, .userDefined, .unused:
                pieces.insert(bytes, value: Int32(id))
                longest = max(longest, bytes.count)
            default: break
            }
            if proto.types[id] == .userDefined {
                user.insert(bytes, value: Int32(id))
                longestUser = max(longestUser, bytes.count)
            }
            if proto.types[id] == .normal {
                minScore = min(minScore, proto.scores[id])
                maxScore = max(maxScore, proto.scores[id])
            }
        }
        self.pieces = FrozenByteTable(pieces)
        self.all = FrozenByteTable(all)
        userDefined = FrozenByteTable(user)
        longestUserDefined = longestUser
        longestPiece = longest
        unknownId = proto.types.firstIndex(of: .unknown)!
        var byteIds = [Int32](repeating: -1, count: 256)
        if proto.byteFallback {
            for b in 0..<256 {
                if let id = all.value(for: Array(Unigram.bytePiece(UInt8(b)).utf8)), proto.types[Int(id)] == .byte { byteIds[b] = id }
            }
        }
        self.byteIds = byteIds
        self.minScore = minScore
        self.maxScore = maxScore
    }

    /// The vocabulary (piece → id).
    var vocabulary: [String: Int] {
        var v: [String: Int] = [:]
        for (id, piece) in proto.pieces.enumerated() where v[piece] == nil { v[piece] = id }
        return v
    }

    /// The longest user-defined symbol that starts `p[i..<hi]`, as its length.
    private func userDefinedPrefix(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ hi: Int) -> Int? {
        guard longestUserDefined > 0 else { return nil }
        var length = min(longestUserDefined, hi - i)
        while length > 0 {
            if userDefined.value(p, i, i + length) != nil { return length }
            length -= 1
        }
        return nil
    }

    /// normalizer.cc's `NormalizePrefix`: (replacement, bytes consumed) for the text at `i`.
    private func normalizePrefix(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ hi: Int) -> (ArraySlice<UInt8>, Int) {
        if let length = userDefinedPrefix(p, i, hi) { return (ArraySlice(p[i..<(i + length)]), length) }
        var longest = 0, value = 0
        for match in charsmap.prefixMatches(p, i, hi) where match.length > longest {
            longest = match.length
            value = match.value
        }
        if longest > 0, let replacement = charsmap.replacement(value) { return (replacement, longest) }
        let length = min(utf8Length(p[i]), hi - i)
        return (ArraySlice(p[i..<(i + length)]), length)
    }

    /// normalizer.cc's `Normalize`, each normalized byte spanning the original bytes it comes from.
    func normalize(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, into out: inout NormalizedText) {
        let space: [UInt8] = proto.escapeWhitespaces ? [0xE2, 0x96, 0x81] : [0x20]
        var i = lo
        if proto.removeExtraWhitespaces {
            while i < hi {
                let (r, length) = normalizePrefix(p, i, hi)
                guard r.count == 1 && r.first == 0x20 else { break }
                i += length
            }
        }
        guard i < hi else { return }
        if proto.addDummyPrefix {
            for b in space { out.append(byte: b, start: Int32(i), end: Int32(i)) }
        }
        var previousSpace = proto.removeExtraWhitespaces
        while i < hi {
            var (r, length) = normalizePrefix(p, i, hi)
            if previousSpace { while r.first == 0x20 { r = r.dropFirst() } }
            if !r.isEmpty {
                for b in r {
                    if b == 0x20 && proto.escapeWhitespaces {
                        for s in space { out.append(byte: s, start: Int32(i), end: Int32(i + length)) }
                    } else {
                        out.append(byte: b, start: Int32(i), end: Int32(i + length))
                    }
                }
                previousSpace = r.last == 0x20
            }
            i += length
            if !proto.removeExtraWhitespaces { previousSpace = false }
        }
        if proto.removeExtraWhitespaces {
            while out.bytes.count >= space.count, out.bytes.suffix(space.count).elementsEqual(space) {
                out.bytes.removeLast(space.count)
                out.starts.removeLast(space.count)
                out.ends.removeLast(space.count)
            }
        }
    }

    /// Segments normalized bytes `p[0..<n]` into (start, end, id), id == unknownId for unknown pieces.
    func segment(_ p: UnsafeBufferPointer<UInt8>, _ n: Int) -> [(Int, Int, Int)] {
        proto.modelType == .bpe ? segmentBPE(p, n) : segmentUnigram(p, n)
    }

    /// unigram_model.cc's `EncodeOptimized` (scores summed in Float), unknown runs fused.
    private func segmentUnigram(_ p: UnsafeBufferPointer<UInt8>, _ n: Int) -> [(Int, Int, Int)] {
        var lattice = ViterbiLattice<Float>(n)
        let unknownScore = minScore - 10
        var start = 0
        while start < n {
            let base = lattice.best[start]
            let length = min(utf8Length(p[start]), n - start)
            var single = false
            var end = start
            let limit = min(n, start + longestPiece)
            while end < limit {
                end += 1
                guard let id32 = pieces.value(p, start, end) else { continue }
                let id = Int(id32)
                let type = proto.types[id]
                if type == .unused { continue }
                let score = (type == .userDefined ? Float(end - start) * maxScore - 0.1 : proto.scores[id]) + base
                lattice.offer(start: start, end: end, score: score, id: id)
                if end - start == length { single = true }
            }
            if !single { lattice.offer(start: start, end: start + length, score: unknownScore + base, id: unknownId) }
            start += length
        }
        let unknown = unknownId
        return lattice.path(n, unknown: unknown) { $0 == unknown }
    }

    /// bpe_model.cc's `SampleEncode` without sampling: characters (user-defined symbols whole and frozen),
    /// then the adjacent pair whose concatenation is the highest-scored piece merged, leftmost on ties.
    private func segmentBPE(_ p: UnsafeBufferPointer<UInt8>, _ n: Int) -> [(Int, Int, Int)] {
        var starts: [Int] = [], ends: [Int] = [], frozen: [Bool] = []
        var i = 0
        while i < n {
            if let length = userDefinedPrefix(p, i, n) {
                starts.append(i); ends.append(i + length); frozen.append(true); i += length
            } else {
                let length = min(utf8Length(p[i]), n - i)
                starts.append(i); ends.append(i + length); frozen.append(false); i += length
            }
        }
        func pairScore(_ k: Int) -> Float? {
            guard !frozen[k] && !frozen[k + 1], let id = pieces.value(p, starts[k], ends[k + 1]) else { return nil }
            return proto.scores[Int(id)]
        }
        var scores: [Float?] = (0..<max(0, starts.count - 1)).map(pairScore)
        while true {
            var best = -1
            var bestScore = -Float.infinity
            for k in scores.indices {
                if let s = scores[k], best < 0 || s > bestScore { best = k; bestScore = s }
            }
            if best < 0 { break }
            ends[best] = ends[best + 1]
            starts.remove(at: best + 1); ends.remove(at: best + 1); frozen.remove(at: best + 1)
            scores.remove(at: best)
            if best > 0 { scores[best - 1] = pairScore(best - 1) }
            if best < scores.count { scores[best] = pairScore(best) }
        }
        return starts.indices.map { k in
            let id = all.value(p, starts[k], ends[k]).map(Int.init) ?? unknownId
            return (starts[k], ends[k], id)
        }
    }

    /// Appends the tokens of `p[lo..<hi]` (original text) to `tokens`; unknown pieces are shown as their
    /// normalized text, as `encode(out_type=str)` does.
    func tokenize(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, _ normalized: inout NormalizedText,
                  into tokens: inout TokenList) {
        normalized.removeAll()
        normalize(p, lo, hi, into: &normalized)
        normalized.withView { v in
            for (s, e, id) in segment(v.bytes, v.bytes.count) {
                let (os, oe) = (Int(v.starts[s]), Int(v.ends[e - 1]))
                if id == unknownId, proto.byteFallback, (s..<e).allSatisfy({ byteIds[Int(v.bytes[$0])] >= 0 }) {
                    for k in s..<e { tokens.append(id: Int(byteIds[Int(v.bytes[k])]), start: os, end: oe) }
                    continue
                }
                if id == unknownId {
                    tokens.matchedTexts.append((tokens.count, String(decoding: v.bytes[s..<e], as: UTF8.self)))
                }
                tokens.append(id: id, start: os, end: oe)
            }
        }
    }

    /// `SentencePieceProcessor::Decode` over the pieces of the ids: control pieces give nothing, the
    /// unknown piece `unk_surface`, runs of byte pieces their UTF-8 text (U+FFFD per invalid byte), others
    /// their text with `▁` as a space, the `▁` that starts the text dropped.
    func decode(_ tokens: [String]) -> String {
        var out: [UInt8] = []
        var bytes: [UInt8] = []
        var atStart = true
        func flush() {
            guard !bytes.isEmpty else { return }
            let before = out.count
            var i = 0
            while i < bytes.count {
                let length = validUTF8Length(bytes, i)
                if length > 0 {
                    out += bytes[i..<(i + length)]
                    i += length
                } else {
                    out += [0xEF, 0xBF, 0xBD]
                    i += 1
                }
            }
            if out.count > before { atStart = false }
            bytes.removeAll()
        }
        for token in tokens {
            let spelling = Array(token.utf8)
            let id = spelling.withUnsafeBufferPointer { all.value($0, 0, $0.count) }.map { Int($0) }
            let type = id.map { proto.types[$0] }
            if type == .byte, let id, let b = byteIds.firstIndex(of: Int32(id)) {
                bytes.append(UInt8(b))
                continue
            }
            flush()
            var text: [UInt8]
            switch type {
            case .control: text = []
            case .unknown: text = Array(proto.unknownSurface.utf8)
            default:
                var piece = spelling[...]
                if atStart && (proto.addDummyPrefix || proto.removeExtraWhitespaces), piece.starts(with: [0xE2, 0x96, 0x81]) {
                    piece = piece.dropFirst(3)
                }
                text = TokenDecoder.replacing(Array(piece), [0xE2, 0x96, 0x81], [0x20])
            }
            if !text.isEmpty { atStart = false }
            out += text
        }
        flush()
        return String(decoding: out, as: UTF8.self)
    }
}

/// The length of the valid UTF-8 sequence at `i`, or 0 if the bytes there are not one.
func validUTF8Length(_ b: [UInt8], _ i: Int) -> Int {
    let b0 = b[i]
    if b0 < 0x80 { return 1 }
    let length: Int
    var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
    switch b0 {
    case 0xC2...0xDF: length = 2
    case 0xE0: length = 3; lower = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED: length = 3; upper = 0x9F
    case 0xF0: length = 4; lower = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4: length = 4; upper = 0x8F
    default: return 0
    }
    guard i + length <= b.count else { return 0 }
    guard b[i + 1] >= lower && b[i + 1] <= upper else { return 0 }
    for k in 2..<length where b[i + k] < 0x80 || b[i + k] > 0xBF { return 0 }
    return length
}

extension Tokenizer {
    /// A tokenizer from a SentencePiece `.model` file (`spiece.model`, `tokenizer.model`,
    /// `sentencepiece.bpe.model`, `source.spm`), encoding and decoding as `SentencePieceProcessor.encode` /
    /// `decode` do: no special tokens are added, control pieces decode to nothing.
    ///
    /// ```swift
    /// let tokenizer = try Tokenizer.fromSentencePieceModel("t5-small/spiece.model")
    /// let ids = try tokenizer.encode("Hello world").ids
    /// ```
    public static func fromSentencePieceModel(_ path: String) throws(TokenizerError) -> Tokenizer {
        try Tokenizer(sentencePieceModel: try readFile(path), file: path)
    }

    /// Parses the contents of a SentencePiece `.model`; `file` names it in errors.
    public init(sentencePieceModel bytes: [UInt8], file: String = "tokenizer.model") throws(TokenizerError) {
        let processor = try SentencePieceProcessor(try SentencePieceModelProto(bytes, file: file), file: file)
        self.init(core: TokenizerCore(normalizer: nil, preTokenizer: .none, model: .sentencePiece(processor),
                                      vocabulary: processor.vocabulary, addedTokens: [], postProcessor: .none,
                                      decoder: .sentencePiece(processor)))
    }
}
