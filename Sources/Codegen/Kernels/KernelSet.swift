import Graph

/// The GEMM and attention emitters of one precision: the one place that picks them, so a new
/// precision is a new emitter pair and a new member here.
struct KernelSet {
    let gemm: any GEMMEmitter
    let attention: any AttentionEmitter

    /// f32 throughout.
    static func float32(_ context: LoweringContext) -> KernelSet {
        KernelSet(gemm: F32GEMMEmitter(context: context), attention: F32AttentionEmitter(context: context))
    }

    /// bf16 matrix products (`BF16GEMMEmitter`, `vdpbf16ps`); attention stays f32 (its products are
    /// small next to the weights' and its softmax needs f32).
    static func bfloat16(_ context: LoweringContext) -> KernelSet {
        KernelSet(gemm: BF16GEMMEmitter(context: context), attention: F32AttentionEmitter(context: context))
    }

    /// The kernels of `precision`.
    static func of(_ precision: Precision, _ context: LoweringContext) -> KernelSet {
        switch precision {
        case .fp32: float32(context)
        case .bf16: bfloat16(context)
        }
    }
}
