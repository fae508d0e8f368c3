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

    /// The name suffix that marks a constant as stored in panels.
    public static let suffix = ".panels"

    /// Whether the constant `name` is stored (and read by GEMM kernels) in panels: a 2-D f32 weight
    /// of a `fused_linear` that `pack-weights` marked (`w.panels`, or `w.panels_2` when the name was
    /// taken).
    public static func isPanelConstant(_ name: String) -> Bool {
        guard let marker = name.range(of: suffix, options: .backwards) else { return false }
        let tail = name[marker.upperBound...]
        return tail.isEmpty || (tail.count > 1 && tail.first == "_" && tail.dropFirst().allSatisfy(\.isNumber))
    }

    /// Panels needed for `n` columns.
    public static func panels(_ n: Int) -> Int { (n + width - 1) / width }

    /// A contiguous `[k, n]` float matrix as `[panels(n), k, width]`, zero padded.
    public static func pack(_ matrix: Tensor) -> Tensor {
        precondition(matrix.shape.count == 2 && matrix.dtype == .float32, "PanelLayout.pack takes a [k, n] float matrix")
        let k = matrix.shape[0], n = matrix.shape[1], count = panels(n)
        // Written straight into the tensor's storage (an array first cost a second buffer of the
        // weights' size, and fresh memory is slow to fault in).
        let total = count * k * width
        let storage = Storage(uninitializedByteCount: total * 4)
        let packed = storage.base.bindMemory(to: Float.self, capacity: total)
        let source = matrix.contiguous()
        for panel in 0..<count { fill(panel, of: source, into: packed + panel * k * width) }
        return Tensor(storage: storage, shape: [count, k, width], dtype: .float32)
    }

    /// The bytes `pack(matrix)` would hold, one panel at a time through one reused buffer (the weights
    /// file is streamed this way, never holding the packed matrix whole).
    public static func forEachPanel<E: Error>(of matrix: Tensor, _ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        precondition(matrix.shape.count == 2 && matrix.dtype == .float32, "PanelLayout.forEachPanel takes a [k, n] float matrix")
        let k = matrix.shape[0], n = matrix.shape[1]
        let source = matrix.contiguous()
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, k * width))
        defer { buffer.deallocate() }
        for panel in 0..<panels(n) {
            fill(panel, of: source, into: buffer)
            try body(UnsafeRawBufferPointer(start: buffer, count: k * width * 4))
        }
    }

    /// Bytes of `matrix` (`[k, n]`) in panels.
    public static func packedByteCount(_ shape: [Int]) -> Int { panels(shape[1]) * shape[0] * width * 4 }

    /// Writes panel `panel` of the contiguous `[k, n]` `source` (`[k][width]`, zero padded) to `target`.
    private static func fill(_ panel: Int, of source: Tensor, into target: UnsafeMutablePointer<Float>) {
        let k = source.shape[0], n = source.shape[1]
        let p = source.pointer(as: Float.self)
        let columns = min(width, n - panel * width)
        for i in 0..<k {
            let row = target + i * width
            let from = p + i * n + panel * width
            for j in 0..<columns { row[j] = from[j] }
            for j in columns..<width { row[j] = 0 }
        }
    }
}
