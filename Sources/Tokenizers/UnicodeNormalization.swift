/// The four Unicode normalization forms as Hugging Face `tokenizers` computes them (its NFD, NFKD, NFC and
/// NFKC normalizers, through the `unicode-normalization-alignments` crate): each output scalar carries the
/// change `NormalizerStep.transform` reads, so that offsets map back to the original text exactly as HF's.
///
/// The data (decompositions, combining classes, compositions) comes from `UnicodeTables`, probed from HF
/// itself, so scalars newer than HF's Unicode tables normalize as HF normalizes them (unchanged).
enum NormalizationForm: Sendable, Equatable {
    case nfd, nfkd, nfc, nfkc

    private var compatible: Bool { self == .nfkd || self == .nfkc }
    private var composes: Bool { self == .nfc || self == .nfkc }

    /// `scalars` normalized, each with its change: 0 replaces the next original scalar, 1 is inserted after
    /// it, -n replaces it and n more.
    func apply(_ scalars: [UInt32]) -> [(UInt32, Int)] {
        let decomposed = NormalizationForm.decompose(scalars, compatible: compatible)
        return composes ? NormalizationForm.compose(decomposed) : decomposed
    }

    /// Full decomposition of every scalar (the first piece keeps change 0, the others are insertions), then
    /// each run of non-starters sorted stably by combining class (canonical ordering).
    private static func decompose(_ scalars: [UInt32], compatible: Bool) -> [(UInt32, Int)] {
        var out: [(UInt32, Int)] = []
        var classes: [UInt8] = []
        out.reserveCapacity(scalars.count)
        var pieces: [UInt32] = []
        var runStart = 0
        for v in scalars {
            pieces.removeAll(keepingCapacity: true)
            if compatible, let d = UnicodeData.compatibilityDecompositions[v] {
                pieces += d
            } else {
                UnicodeData.appendDecomposition(of: v, to: &pieces)
            }
            for (k, piece) in pieces.enumerated() {
                let cls = UnicodeData.combiningClass(piece)
                if cls == 0 {
                    sortRun(&out, &classes, from: runStart)
                    runStart = out.count + 1
                }
                out.append((piece, k == 0 ? 0 : 1))
                classes.append(cls)
            }
        }
        sortRun(&out, &classes, from: runStart)
        return out
    }

    /// Stable insertion sort of `out[start...]` by combining class (runs are a few marks long).
    private static func sortRun(_ out: inout [(UInt32, Int)], _ classes: inout [UInt8], from start: Int) {
        guard out.count - start > 1 else { return }
        for i in (start + 1)..<out.count {
            var j = i
            while j > start, classes[j - 1] > classes[j] {
                out.swapAt(j - 1, j)
                classes.swapAt(j - 1, j)
                j -= 1
            }
        }
    }

    /// Canonical composition of decomposed text: each starter absorbs the following marks it composes with
    /// unless a mark of the same or a higher class stands between them; a composed scalar's change is the
    /// sum of its parts' changes less one per absorbed part. Marks that did not compose keep their order
    /// after the starter.
    private static func compose(_ decomposed: [(UInt32, Int)]) -> [(UInt32, Int)] {
        var out: [(UInt32, Int)] = []
        out.reserveCapacity(decomposed.count)
        var starter: (UInt32, Int)? = nil
        var lastClass: UInt8? = nil
        var held: [(UInt32, Int)] = []
        for (v, change) in decomposed {
            let cls = UnicodeData.combiningClass(v)
            guard let s = starter else {
                if cls == 0 { starter = (v, change) } else { out.append((v, change)) }
                continue
            }
            if let last = lastClass, last >= cls {
                // Blocked from the starter.
                if cls == 0 {
                    out.append(s)
                    out += held
                    held.removeAll(keepingCapacity: true)
                    starter = (v, change)
                    lastClass = nil
                } else {
                    held.append((v, change))
                    lastClass = cls
                }
                continue
            }
            if let composed = UnicodeData.compose(s.0, v) {
                starter = (composed, s.1 + change - 1)
                continue
            }
            if lastClass == nil && cls == 0 {
                out.append(s)
                starter = (v, change)
                continue
            }
            held.append((v, change))
            lastClass = cls
        }
        if let s = starter { out.append(s) }
        out += held
        return out
    }
}
