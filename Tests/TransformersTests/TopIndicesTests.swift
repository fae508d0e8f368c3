import Testing
@testable import Transformers

/// `topIndices` (beam search's choice of continuations) against a full stable sort: largest first,
/// ties by the lower index, on values with many ties and with -inf; NaN ranks last.
@Suite struct TopIndicesTests {
    @Test func equalsAStableSort() {
        var state: UInt64 = 12345
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        for trial in 0..<200 {
            let n = 1 + next() % 300
            let values: [Float] = (0..<n).map { _ in
                let r = next() % 20
                return r == 0 ? -.infinity : Float(r % 7) - 3      // few distinct values: many ties
            }
            let reference = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
            for count in [1, 2, 5, 8, n, n + 3] {
                #expect(topIndices(values[...], count: count) == Array(reference.prefix(count)), "trial \(trial) count \(count)")
            }
            // A slice keeps offsets relative to its start.
            let slice = values[(n / 2)...]
            let sliceReference = slice.indices.sorted { slice[$0] > slice[$1] || (slice[$0] == slice[$1] && $0 < $1) }.map { $0 - n / 2 }
            #expect(topIndices(slice, count: 4) == Array(sliceReference.prefix(4)))
        }
        #expect(topIndices([Float.nan, 1, .nan, 2][...], count: 3) == [3, 1, 0])
        #expect(topIndices([Float(1)][...], count: 0) == [])
    }
}
