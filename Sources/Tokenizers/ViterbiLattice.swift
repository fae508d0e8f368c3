/// The best-path table of Unigram segmentation, shared by the tokenizer.json model (`Unigram`, HF's
/// lattice in `Double`) and the SentencePiece `.model` encoder (sentencepiece's in `Float`): for each
/// byte position, the best score of a path ending there, where that path's last piece starts, and its id.
struct ViterbiLattice<Score: BinaryFloatingPoint> {
    private(set) var best: [Score]
    private var from: [Int]
    private var ids: [Int]

    /// A lattice over `n` bytes; position 0 starts every path with score 0.
    init(_ n: Int) {
        best = [Score](repeating: 0, count: n + 1)
        from = [Int](repeating: -1, count: n + 1)
        ids = [Int](repeating: -1, count: n + 1)
    }

    /// Records the piece `id` over `start..<end` with the path score `score` if it beats what ends at `end`.
    mutating func offer(start: Int, end: Int, score: Score, id: Int) {
        if from[end] < 0 || score > best[end] {
            best[end] = score
            from[end] = start
            ids[end] = id
        }
    }

    /// The best path from 0 to `n` as (start, end, id) with `offset` added to the positions; consecutive
    /// pieces that `isUnknown` are fused into one with id `unknown`.
    func path(_ n: Int, offset: Int = 0, unknown: Int, isUnknown: (Int) -> Bool) -> [(Int, Int, Int)] {
        var out: [(Int, Int, Int)] = []
        var end = n
        while end > 0 {
            let s = from[end]
            if isUnknown(ids[end]), let last = out.last, last.2 == unknown {
                out[out.count - 1] = (offset + s, last.1, unknown)
            } else {
                out.append((offset + s, offset + end, isUnknown(ids[end]) ? unknown : ids[end]))
            }
            end = s
        }
        out.reverse()
        return out
    }
}
