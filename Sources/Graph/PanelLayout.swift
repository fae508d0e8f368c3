import Foundation
import Tensors

/// The matrix product of generated code: register-blocked tiles over B *panels*.
///
/// Which weights are stored this way is decided by the `pack-weights` pass, which gives every
/// `fused_linear` weight its own constant named with the `suffix` (`<source>.panels`): the layout
/// attribute that the weights writer (`ConstantSlot`) and the GEMM emitter both read through
/// `isPanelConstant`, so one place decides it.
///
/// A panel is `PanelLayout.width` consecutive columns of B stored as `[k][width]` floats, zero
/// padded past the last column, so the microkernel reads it with two full vector loads per `k`
/// whatever B's real layout. Constant weights are packed once at compile time (`PanelLayout.pack`);
/// other operands (attention's K and V, a non-constant right operand) are packed per panel at run
/// time into the task's scratch, which costs `1/m` of the product. The microkernel keeps an
/// `rows × 32` block of C in 16-lane registers, broadcasting one A element per row and `k`.
/// Unlike an sgemm call, nothing is re-packed per call for weights, small `m` wastes nothing, and the
/// caller applies its epilogue (bias, activation, residual) while the tile is still in L1.
public enum PanelLayout {
    /// Columns per panel: two 16-float vectors.
    public static let width = 32
    /// Rows per microkernel tile (16 accumulator registers).
    public static let rows = 8

    /// How a panel's elements are stored. The `pack-weights` pass picks it from the compile's
    /// `Precision` and names it in the constant's suffix, the one mark the weights writer
    /// (`ConstantSlot`), the memory plan (`KernelFootprint`) and the GEMM emitters read.
    public enum Format: String, Sendable, CaseIterable {
        /// `[panels][k][32]` f32 (`<source>.panels`).
        case f32
        /// `[panels][ceil(k/2)][32][2]` bf16 (`<source>.bf16panels`): rows `2p` and `2p + 1` of a
        /// column side by side, as `vdpbf16ps` multiplies pairs; rounded to nearest even (as torch
        /// rounds), an odd `k`'s last pair and the columns past `n` zero. Stored as one int32 per pair.
        case bf16
        /// Symmetric int8 per output column (`<source>.int8panels`), for `vpdpbusd`: each panel is
        /// `[2 + ceil(k/4)][32]` int32 — the 32 columns' f32 scales (`max |w| / 127`), their i32 sums
        /// `Σ_k q` (to subtract the activations' zero point), then rows `4p ..< 4p + 4` of each column
        /// as four int8 in one int32 (row `4p` in the low byte); the rows past `k` and the columns past
        /// `n` zero.
        case int8
        /// f32 panels a reduced-precision compile keeps in f32 (`--keep-fp32`, `<source>.fp32panels`):
        /// the bytes of `f32`, but never retargeted to the compile's precision.
        case f32Kept

        /// The name suffix that marks a constant as stored in this format.
        public var suffix: String {
            switch self {
            case .f32: ".panels"
            case .bf16: ".bf16panels"
            case .int8: ".int8panels"
            case .f32Kept: ".fp32panels"
            }
        }

        /// The panel format of a precision's weights.
        public init(_ precision: Precision) {
            switch precision {
            case .fp32: self = .f32
            case .bf16: self = .bf16
            case .int8: self = .int8
            }
        }
    }

    /// The name suffix that marks a constant as stored in f32 panels.
    public static let suffix = Format.f32.suffix

    /// The panel format the constant `name` is stored (and read by GEMM kernels) in, or nil for
    /// row-major: a 2-D f32 weight of a `fused_linear` that `pack-weights` marked (`w.panels`,
    /// `w.bf16panels`, or with `_2` after it when the name was taken).
    public static func format(ofConstant name: String) -> Format? {
        for format in Format.allCases {
            guard let marker = name.range(of: format.suffix, options: .backwards) else { continue }
            let tail = name[marker.upperBound...]
            if tail.isEmpty || (tail.count > 1 && tail.first == "_" && tail.dropFirst().allSatisfy(\.isNumber)) { return format }
        }
        return nil
    }

    /// The checkpoint constant a panel constant was packed from (`w.int8panels_2` → `w`).
    public static func sourceName(ofConstant name: String) -> String {
        guard let format = format(ofConstant: name), let marker = name.range(of: format.suffix, options: .backwards) else { return name }
        return String(name[..<marker.lowerBound])
    }

    /// Whether the constant `name` is stored in panels of either format.
    public static func isPanelConstant(_ name: String) -> Bool { format(ofConstant: name) != nil }

    /// Panels needed for `n` columns.
    public static func panels(_ n: Int) -> Int { (n + width - 1) / width }

    /// A `[k, n]` float matrix (any strides: a transposed weight is read in place) in `format`'s panels.
    public static func pack(_ matrix: Tensor, format: Format) -> Tensor {
        switch format {
        case .f32, .f32Kept: pack(matrix)
        case .bf16: packBF16(matrix)
        case .int8: packInt8(matrix)
        }
    }

    /// A `[k, n]` float matrix (any strides) as `[panels(n), k, width]`, zero padded.
    public static func pack(_ matrix: Tensor) -> Tensor {
        precondition(matrix.shape.count == 2 && matrix.dtype == .float32, "PanelLayout.pack takes a [k, n] float matrix")
        let k = matrix.shape[0], n = matrix.shape[1], count = panels(n)
        // Written straight into the tensor's storage (an array first cost a second buffer of the
        // weights' size, and fresh memory is slow to fault in).
        let total = count * k * width
        let storage = Storage(uninitializedByteCount: total * 4)
        let packed = storage.base.bindMemory(to: Float.self, capacity: total)
        for panel in 0..<count { fill(panel, of: matrix, into: packed + panel * k * width) }
        return Tensor(storage: storage, shape: [count, k, width], dtype: .float32)
    }

    /// A `[k, n]` float matrix as bf16 pairs, `[panels(n), ceil(k/2), width]` int32 (the low half
    /// row `2p`, the high half row `2p + 1`), zero padded.
    public static func packBF16(_ matrix: Tensor) -> Tensor {
        packWords(matrix, rows: (matrix.shape[0] + 1) / 2, fill: fillBF16)
    }

    /// `[panels(n), rows, width]` int32, each panel written by `fill(panel, matrix, target)`.
    private static func packWords(_ matrix: Tensor, rows: Int, fill: (Int, Tensor, UnsafeMutablePointer<UInt32>) -> Void) -> Tensor {
        precondition(matrix.shape.count == 2 && matrix.dtype == .float32, "PanelLayout: panels are packed from a [k, n] float matrix")
        let count = panels(matrix.shape[1])
        let total = count * rows * width
        let storage = Storage(uninitializedByteCount: total * 4)
        let packed = storage.base.bindMemory(to: UInt32.self, capacity: total)
        for panel in 0..<count { fill(panel, matrix, packed + panel * rows * width) }
        return Tensor(storage: storage, shape: [count, rows, width], dtype: .int32)
    }

    /// A `[k, n]` float matrix as int8 panels (`Format.int8`), `[panels(n), 2 + ceil(k/4), width]` int32.
    public static func packInt8(_ matrix: Tensor) -> Tensor {
        packWords(matrix, rows: int8PanelRows(matrix.shape[0]), fill: fillInt8)
    }

    /// Rows of 32 int32 in one int8 panel of depth `k`: scales, corrections, then `ceil(k/4)` quads.
    public static func int8PanelRows(_ k: Int) -> Int { 2 + (k + 3) / 4 }

    /// The bytes `pack(matrix, format:)` would hold, one panel at a time through one reused buffer (the
    /// weights file is streamed this way, never holding the packed matrix whole).
    public static func forEachPanel<E: Error>(of matrix: Tensor, format: Format = .f32,
                                              _ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        precondition(matrix.shape.count == 2 && matrix.dtype == .float32, "PanelLayout.forEachPanel takes a [k, n] float matrix")
        let k = matrix.shape[0], n = matrix.shape[1]
        let source = matrix
        let bytes = packedByteCount([k, width], format: format)   // one panel
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(4, bytes), alignment: 64)
        defer { buffer.deallocate() }
        for panel in 0..<panels(n) {
            switch format {
            case .f32, .f32Kept: fill(panel, of: source, into: buffer.bindMemory(to: Float.self, capacity: k * width))
            case .bf16: fillBF16(panel, of: source, into: buffer.bindMemory(to: UInt32.self, capacity: (k + 1) / 2 * width))
            case .int8: fillInt8(panel, of: source, into: buffer.bindMemory(to: UInt32.self, capacity: int8PanelRows(k) * width))
            }
            try body(UnsafeRawBufferPointer(start: buffer, count: bytes))
        }
    }

    /// Bytes of `matrix` (`[k, n]`) in panels of `format`.
    public static func packedByteCount(_ shape: [Int], format: Format = .f32) -> Int {
        switch format {
        case .f32, .f32Kept: panels(shape[1]) * shape[0] * width * 4
        case .bf16: panels(shape[1]) * ((shape[0] + 1) / 2) * width * 4
        case .int8: panels(shape[1]) * int8PanelRows(shape[0]) * width * 4
        }
    }

    /// Writes panel `panel` of the `[k, n]` `source` (`[k][width]`, zero padded) to `target`. The source
    /// is read through its strides: a transposed weight (`W.T`, a view of the checkpoint's `[n, k]`) is
    /// packed without first being copied whole.
    private static func fill(_ panel: Int, of source: Tensor, into target: UnsafeMutablePointer<Float>) {
        let k = source.shape[0], n = source.shape[1]
        let rowStride = source.strides[0], columnStride = source.strides[1]
        let p = source.pointer(as: Float.self) + panel * width * columnStride
        let columns = min(width, n - panel * width)
        for i in 0..<k {
            let row = target + i * width
            let from = p + i * rowStride
            if columnStride == 1 {
                for j in 0..<columns { row[j] = from[j] }
            } else {
                for j in 0..<columns { row[j] = from[j * columnStride] }
            }
            for j in columns..<width { row[j] = 0 }
        }
    }

    /// Writes panel `panel` of the `[k, n]` `source` (read through its strides) as bf16 pairs
    /// (`[ceil(k/2)][width]` int32, zero padded) to `target`.
    private static func fillBF16(_ panel: Int, of source: Tensor, into target: UnsafeMutablePointer<UInt32>) {
        let k = source.shape[0], n = source.shape[1], pairs = (k + 1) / 2
        let rowStride = source.strides[0], columnStride = source.strides[1]
        let p = source.pointer(as: Float.self)
        let columns = min(width, n - panel * width)
        for pair in 0..<pairs {
            let row = target + pair * width
            for j in 0..<columns {
                let column = (panel * width + j) * columnStride
                let low = UInt32(bfloat16Bits(p[2 * pair * rowStride + column]))
                let high = 2 * pair + 1 < k ? UInt32(bfloat16Bits(p[(2 * pair + 1) * rowStride + column])) : 0
                row[j] = low | high << 16
            }
            for j in columns..<width { row[j] = 0 }
        }
    }

    /// Writes panel `panel` of the `[k, n]` `source` (read through its strides) as an int8 panel
    /// (`Format.int8`: scales, sums, quads) to `target`.
    private static func fillInt8(_ panel: Int, of source: Tensor, into target: UnsafeMutablePointer<UInt32>) {
        let k = source.shape[0], n = source.shape[1], quads = (k + 3) / 4
        let rowStride = source.strides[0], columnStride = source.strides[1]
        let p = source.pointer(as: Float.self)
        let columns = min(width, n - panel * width)
        for j in 0..<width {
            var scale: Float = 0, sum: Int32 = 0
            if j < columns {
                let column = p + (panel * width + j) * columnStride
                var largest: Float = 0
                for i in 0..<k { largest = max(largest, abs(column[i * rowStride])) }
                scale = largest / 127
                for quad in 0..<quads {
                    var word: UInt32 = 0
                    for b in 0..<4 where 4 * quad + b < k {
                        let q = quantize(column[(4 * quad + b) * rowStride], scale: scale)
                        sum += Int32(q)
                        word |= UInt32(UInt8(bitPattern: q)) << (8 * b)
                    }
                    target[(2 + quad) * width + j] = word
                }
            } else {
                for quad in 0..<quads { target[(2 + quad) * width + j] = 0 }
            }
            target[j] = scale.bitPattern
            target[width + j] = UInt32(bitPattern: sum)
        }
    }

    /// `x / scale` rounded to the nearest integer (ties to even, as `nearbyint`) within `[-127, 127]`;
    /// 0 for a zero scale (a column or row of zeros).
    public static func quantize(_ x: Float, scale: Float) -> Int8 {
        guard scale > 0 else { return 0 }
        let q = (x / scale).rounded(.toNearestOrEven)
        return Int8(max(-127, min(127, q.isNaN ? 0 : q)))
    }

    /// `x` rounded to bfloat16 (nearest, ties to even, as torch's `x.to(torch.bfloat16)`), as its 16 bits;
    /// a NaN stays a quiet NaN.
    public static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// The float a bfloat16 bit pattern stands for.
    public static func float(bfloat16 bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// Rows of the left operand an int8 GEMM task quantizes and multiplies.
    public static let int8RowsPerTask = 64

    /// Task scratch of an int8 GEMM (per thread): the task's rows of A quantized, each `ceil(k/4)`
    /// int32 of four unsigned bytes followed by the row's f32 scale and i32 zero point.
    public static func int8ScratchBytes(k: Int) -> Int {
        let quads = MemoryPlan.sum(Swift.max(1, k), 3) / 4
        return (MemoryPlan.product(int8RowsPerTask * 4, MemoryPlan.sum(quads, 2)) + 63) & ~63
    }

    /// Rows of the left operand a bf16 GEMM task converts to bf16 and multiplies.
    public static let bf16RowsPerTask = 64

    /// Task scratch of a bf16 GEMM (per thread): the task's rows of A as bf16 pairs
    /// (`bf16RowsPerTask × ceil(k/2)` int32), then, when the right operand is not a bf16 panel
    /// constant, one panel packed at run time (`ceil(k/2) × 32` int32).
    public static func bf16ScratchBytes(k: Int, packsPanel: Bool) -> Int {
        let pairs = MemoryPlan.sum(Swift.max(1, k), 1) / 2
        let rows = (MemoryPlan.product(bf16RowsPerTask * 4, pairs) + 63) & ~63
        return MemoryPlan.sum(rows, packsPanel ? MemoryPlan.product(pairs, width * 4) : 0)
    }
}

extension Graph {
    /// The graph with every panel constant marked for `format` (`PanelLayout.Format`) but those kept in
    /// f32 (`Format.f32Kept`): a graph
    /// packed for one precision compiled at another stores its weights in the format the kernels
    /// of that precision read. The values are unchanged (the constants stay f32 `[k, n]`).
    public func retargetingPanels(to format: PanelLayout.Format) -> Graph {
        var graph = self
        var renamed: [String: String] = [:]
        for (i, node) in graph.nodes.enumerated() {
            guard case .constant(let name) = node.op, let current = PanelLayout.format(ofConstant: name), current != format,
                  current != .f32Kept else { continue }   // kept in f32 (`--keep-fp32`) at every precision
            let target = renamed[name] ?? {
                let marker = name.range(of: current.suffix, options: .backwards)!
                let base = String(name[..<marker.lowerBound]) + format.suffix
                var candidate = base, n = 2
                while graph.constants[candidate] != nil { candidate = "\(base)_\(n)"; n += 1 }
                graph.constants[candidate] = graph.constants[name]
                renamed[name] = candidate
                return candidate
            }()
            graph.nodes[i].op = .constant(target)
        }
        for old in renamed.keys { graph.constants[old] = nil }
        return graph
    }
}
