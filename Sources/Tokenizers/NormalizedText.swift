/// Text after normalization, as UTF-8 bytes, with the original span of every byte.
///
/// `starts[i]..<ends[i]` is the UTF-8 byte range, in the original text, of the character that normalized
/// byte `i` comes from (a character that NFD or lower-casing expands keeps that range for each of its
/// pieces, as in Hugging Face's `NormalizedString`). Token offsets are read from these two arrays.
struct NormalizedText {
    var bytes: [UInt8] = []
    var starts: [Int32] = []
    var ends: [Int32] = []

    /// The scalars of `bytes` (valid UTF-8 by construction).
    var scalars: [UInt32] {
        String(decoding: bytes, as: UTF8.self).unicodeScalars.map(\.value)
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func append(byte: UInt8, start: Int32, end: Int32) {
        bytes.append(byte)
        starts.append(start)
        ends.append(end)
    }

    /// Appends scalar `v`, every byte of it spanning `start..<end` of the original.
    @inline(__always)
    mutating func append(scalar v: UInt32, start: Int32, end: Int32) {
        if v < 0x80 {
            append(byte: UInt8(v), start: start, end: end)
            return
        }
        let before = bytes.count
        appendUTF8(Unicode.Scalar(v) ?? "\u{FFFD}", to: &bytes)
        for _ in before..<bytes.count {
            starts.append(start)
            ends.append(end)
        }
    }

    /// Copies `p[lo..<hi]` unchanged (no normalizer), each byte spanning its whole character.
    mutating func appendVerbatim(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) {
        bytes.append(contentsOf: p[lo..<hi])
        starts.reserveCapacity(starts.count + hi - lo)
        ends.reserveCapacity(ends.count + hi - lo)
        var i = lo
        while i < hi {
            let length = min(utf8Length(p[i]), hi - i)
            let start = Int32(i), end = Int32(i + length)
            for _ in 0..<length {
                starts.append(start)
                ends.append(end)
            }
            i += length
        }
    }
}

/// The length of the UTF-8 sequence that starts with `lead`.
@inline(__always)
func utf8Length(_ lead: UInt8) -> Int {
    lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
}

/// Read-only pointers into a `NormalizedText`, for the hot loops.
struct NormalizedView {
    let bytes: UnsafeBufferPointer<UInt8>
    let starts: UnsafeBufferPointer<Int32>
    let ends: UnsafeBufferPointer<Int32>

    /// The original span of normalized bytes `lo..<hi`.
    @inline(__always)
    func originalSpan(_ lo: Int, _ hi: Int) -> (Int, Int) {
        (Int(starts[lo]), Int(ends[hi - 1]))
    }
}

extension NormalizedText {
    /// Runs `body` with pointers into the three arrays.
    func withView<R>(_ body: (NormalizedView) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer { b in
            try starts.withUnsafeBufferPointer { s in
                try ends.withUnsafeBufferPointer { e in
                    try body(NormalizedView(bytes: b, starts: s, ends: e))
                }
            }
        }
    }
}
