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

    /// int8 matrix products of the weights (`Int8GEMMEmitter`, `vpdpbusd`); products of two
    /// activations (attention, a plain `matmul`) stay f32.
    static func int8(_ context: LoweringContext) -> KernelSet {
        KernelSet(gemm: Int8GEMMEmitter(context: context), attention: F32AttentionEmitter(context: context))
    }

    /// The kernels of `precision`.
    static func of(_ precision: Precision, _ context: LoweringContext) -> KernelSet {
        switch precision {
        case .fp32: float32(context)
        case .bf16: bfloat16(context)
        case .int8: int8(context)
        }
    }

    /// The GEMM emitter of the `fused_linear` `node`: f32 for a weight kept in f32 (`--keep-fp32`,
    /// `PanelLayout.Format.f32Kept`), else the precision's.
    func linearGEMM(_ node: Graph.Node) -> any GEMMEmitter {
        guard let w = gemm.context.graph.node(node.inputs[1]), case .constant(let name) = w.op,
              PanelLayout.format(ofConstant: name) == .f32Kept else { return gemm }
        return F32GEMMEmitter(context: gemm.context)
    }
}
