import CLLVM
import Tensors

/// A graph value as generated code sees it: a base pointer, an element offset, and runtime shape
/// and strides, plus what is known statically about its layout (so a matmul reads a row-major left
/// operand in place and copies only the others).
struct LoweredValue {
    /// How the last two dims lie in memory, known at compile time.
    enum MatrixLayout {
        /// The last dim has stride 1 (row-major rows; leading dimension = stride of dim −2).
        case rowMajor
        /// Dim −2 has stride 1 (a transposed row-major matrix; leading dimension = stride of dim −1).
        case columnMajor
        /// Anything else: a GEMM's left operand is copied first.
        case unknown
    }

    var dtype: DType
    var base: LLVMValueRef
    var offset: LLVMValueRef
    var shape: [LLVMValueRef]
    var strides: [LLVMValueRef]
    /// Row-major with no gaps and offset 0 (a fresh buffer or a reshape of one).
    var contiguous: Bool
    var layout: MatrixLayout

    var rank: Int { shape.count }
}

extension DType {
    /// The LLVM element type: bools are bytes holding 0 or 1, as Swift's `Bool`.
    func llvmType(_ ir: IRBuilder) -> LLVMTypeRef {
        switch self {
        case .float32: ir.f32
        case .int32: ir.i32
        case .int64: ir.i64
        case .bool: ir.i8
        }
    }
}
