import Foundation
import Testing
import Graph
import Tensors
@testable import Codegen

/// The weights file is laid out and hashed by streaming its constants (`WeightsFile.Layout`): the same
/// bytes and hash as building the whole file in memory from materialized, packed tensors.
@Suite struct WeightsFileTests {
    /// However the bytes are split, the streamed hash is `contentHash`'s.
    @Test func theHashDoesNotDependOnHowBytesArrive() {
        var generator = SystemRandomNumberGenerator()
        for size in [64, 65, 71, 72, 1000, 4099] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let whole = WeightsFile.contentHash(bytes, from: WeightsFile.headerBytes)
            for _ in 0..<20 {
                var hasher = WeightsFile.ContentHasher()
                var i = WeightsFile.headerBytes
                while i < size {
                    let n = min(size - i, Int.random(in: 0...13, using: &generator))
                    bytes.withUnsafeBytes { hasher.add(UnsafeRawBufferPointer(rebasing: $0[i..<(i + n)])) }
                    i += n
                }
                #expect(hasher.finish(fileSize: size) == whole, "size \(size)")
            }
        }
    }

    /// A streamed layout with panels of both formats (odd k and n) equals `encode` of the packed tensors.
    @Test func streamedPanelsEqualPackedTensors() {
        let a = Tensor.randn([7, 45], seed: 3), b = Tensor.randn([3, 5], seed: 4), c = Tensor.randn([1, 33], seed: 5)
        let layout = WeightsFile.Layout([.panels(a, .f32), .tensor(b), .panels(c, .f32), .panels(a, .bf16), .panels(c, .bf16)])
        let reference = WeightsFile.encode([PanelLayout.pack(a), b, PanelLayout.pack(c), PanelLayout.pack(a, format: .bf16),
                                            PanelLayout.pack(c, format: .bf16)])
        #expect(layout.bytes() == reference)
        #expect(layout.fileSize == reference.count)
        #expect(WeightsFile.storedHash(reference) == WeightsFile.contentHash(reference, from: WeightsFile.headerBytes))
    }

    /// Streamed into a file, hashed on the way, the hash written over the header at the end: the file is
    /// `bytes()`, and the header `write` returns is the file's, both when the header is still in the
    /// sink's buffer and when a 12 MB file has flushed it (then rewritten in place).
    @Test func streamingWritesTheHashedFile() throws {
        let small = WeightsFile.Layout([.panels(Tensor.randn([7, 45], seed: 3), .f32), .tensor(Tensor.randn([3, 5], seed: 4))])
        let large = WeightsFile.Layout([.tensor(Tensor.randn([3, 1 << 20], seed: 5)), .panels(Tensor.randn([33, 65], seed: 6), .bf16)])
        for (i, layout) in [small, large].enumerated() {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("weights-\(UUID()).bin").path
            defer { unlink(path) }
            let sink = try FileSink(creating: path)
            let header = try layout.write(to: sink)
            try sink.close()
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let reference = layout.bytes()
            #expect(file == reference, "layout \(i)")
            #expect(header == Array(reference.prefix(header.count)) && header.count == layout.unhashedHeader.count, "layout \(i)")
            #expect(WeightsFile.storedHash(file) == WeightsFile.contentHash(file, from: WeightsFile.headerBytes), "layout \(i)")
        }
    }

    /// A transposed weight (a view, as constant folding keeps it) packs, streams and is written exactly as
    /// its contiguous copy, in both formats; a transpose is dense, a strided slice is not.
    @Test func transposedViewsPackAsTheirCopies() {
        let w = Tensor.randn([45, 7], seed: 6)          // checkpoint layout [n, k]
        let view = w.transposed(0, 1), rows = view.contiguous()
        #expect(!view.isContiguous && view.isDense && rows.isDense)
        #expect(!w.sliced(dim: 1, start: 0, end: 3).isDense && !w.sliced(dim: 0, step: 2).isDense)
        for format in PanelLayout.Format.allCases {
            #expect(PanelLayout.pack(view, format: format).toFloatArray() == PanelLayout.pack(rows, format: format).toFloatArray(), "\(format)")
            #expect(WeightsFile.Layout([.panels(view, format)]).bytes() == WeightsFile.Layout([.panels(rows, format)]).bytes(), "\(format)")
        }
    }
}
