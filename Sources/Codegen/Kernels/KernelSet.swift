/// The GEMM and attention emitters of one precision: the one place that picks them, so a new
/// precision is a new emitter pair and a new member here.
struct KernelSet {
    let gemm: any GEMMEmitter
    let attention: any AttentionEmitter

    /// f32 throughout.
    static func float32(_ context: LoweringContext) -> KernelSet {
        KernelSet(gemm: F32GEMMEmitter(context: context), attention: F32AttentionEmitter(context: context))
    }
}
