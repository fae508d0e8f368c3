import Tensors

/// The matrix product of generated code: register-blocked tiles over B *panels*.
///
/// A panel is `PanelLayout.width` consecutive columns of B stored as `[k][width]` floats, zero
/// padded past the last column, so the microkernel reads it with two full vector loads per `k`
/// whatever B's real layout. Constant weights are packed once at compile time (`PanelLayout.pack`);
/// other operands (attention's K and V, a non-constant right operand) are packed per panel at run
/// time into the task's scratch, which costs `1/m` of the product. The microkernel keeps an
/// `rows × 32` block of C in 16-lane registers, broadcasting one A element per row and `k`.
/// Unlike an sgemm call, nothing is re-packed per call for weights, small `m` wastes nothing, and the
/// caller applies its epilogue (bias, activation, residual) while the tile is still in L1.
enum PanelLayout {
    /// Columns per panel: two 16-float vectors.
    static let width = 32
    /// Rows per microkernel tile (16 accumulator registers).
    static let rows = 8

    /// Panels needed for `n` columns.
    static func panels(_ n: Int) -> Int { (n + width - 1) / width }

    /// A contiguous `[k, n]` float matrix as `[panels(n), k, width]`, zero padded.
    static func pack(_ matrix: Tensor) -> Tensor {
        precondition(matrix.shape.count == 2 && matrix.dtype == .float32, "PanelLayout.pack takes a [k, n] float matrix")
        let k = matrix.shape[0], n = matrix.shape[1], count = panels(n)
        var packed = [Float](repeating: 0, count: count * k * width)
        let source = matrix.contiguous()
        let p = source.pointer(as: Float.self)
        for panel in 0..<count {
            for i in 0..<k {
                for j in 0..<min(width, n - panel * width) {
                    packed[(panel * k + i) * width + j] = p[i * n + panel * width + j]
                }
            }
        }
        return Tensor(packed, shape: [count, k, width])
    }
}
