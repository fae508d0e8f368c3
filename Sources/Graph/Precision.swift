/// The arithmetic a compiled model's matrix products use (`tcompile --precision`,
/// `CompileOptions.precision`). Softmax, layer norm, attention, bias, activations and residuals stay
/// f32 in every precision.
///
/// - `fp32`: f32 weights and f32 FMAs throughout (the default).
/// - `bf16`: `fused_linear` weights stored as bf16 (half the bytes, `PanelLayout.Format.bf16`), the
///   GEMM's left operand rounded to bf16 at its input, products accumulated in f32 with
///   `vdpbf16ps` (AVX512-BF16); a target without that feature is refused, never run slower in f32.
/// - `int8`: `fused_linear` weights stored as symmetric int8 per output column (a quarter of the
///   bytes, `PanelLayout.Format.int8`), the GEMM's left operand quantized per row (per token, as
///   ONNX Runtime's `quantize_dynamic` and PyTorch's dynamic quantization do, but symmetric per row
///   rather than per tensor), products summed in int32 with `vpdpbusd` (AVX512-VNNI) and scaled back
///   to f32 before the epilogue. Attention's own products stay f32.
public enum Precision: String, CaseIterable, Sendable, CustomStringConvertible {
    case fp32
    case bf16
    case int8

    /// The spelling of `--precision` and of the header's `NAME_PRECISION`.
    public var description: String { rawValue }

    /// Parses a `--precision` value; any other spelling is an error listing the accepted ones.
    public init(parsing text: String) throws {
        guard let value = Precision(rawValue: text) else {
            throw GraphError(.parse, "precision '\(text)' is not supported (accepted: \(Precision.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = value
    }

    /// The CPU feature (LLVM's name) the precision's kernels need, if any.
    public var requiredFeature: String? {
        switch self {
        case .fp32: nil
        case .bf16: "avx512bf16"
        case .int8: "avx512vnni"
        }
    }

    /// The same feature as Linux's /proc/cpuinfo and the C API's messages spell it.
    public var requiredFeatureCPUInfoName: String? {
        switch self {
        case .fp32: nil
        case .bf16: "avx512_bf16"
        case .int8: "avx512_vnni"
        }
    }
}
