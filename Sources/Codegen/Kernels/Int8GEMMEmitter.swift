import CLLVM
import Graph
import Tensors

/// int8 matrix products of the weights (`Precision.int8`): a task quantizes up to 64 rows of A per
/// row (per token, asymmetric u8) into its scratch once, then runs them with `vpdpbusd`
/// (`Int8TiledGEMM`) against a group of the weight's int8 panels (`PanelLayout.Format.int8`,
/// quantized per output column at compile time). Up to 4 rows (decoding one token, memory-bound) the
/// weights are used weight-only: A stays f32 and the panels are dequantized in registers. The tile is
/// scaled back to f32 before the epilogue (bias, activation, residual), which is the f32 one.
/// Products whose right operand is not a packed weight (attention's, a plain `matmul`'s, a weight
/// computed from inputs) run the f32 kernels: quantizing both operands per call would cost accuracy
/// where the weights' bytes are not what is read.
struct Int8GEMMEmitter: GEMMEmitter {
    let context: LoweringContext
    /// Rows of A per task.
    static let rowsPerTask = PanelLayout.int8RowsPerTask
    /// At most this many panels per task when A has more than `smallRows` rows (as bf16's).
    static let panelsPerTask = 8
    /// Up to this many rows, at most `panelsPerSmallTask` panels per task: quantizing a row costs about
    /// what one panel's products with it do, so one panel per task (as bf16 does) spent half of
    /// MiniLM 1×16's time quantizing; 4 still gives GPT-2's decode (24 panels) 6 tasks for 2 threads.
    static let smallRows = 16
    static let panelsPerSmallTask = 4

    private var tiles: TiledGEMM { TiledGEMM(context: context) }
    private var int8: Int8TiledGEMM { Int8TiledGEMM(context: context) }
    private var float32: F32GEMMEmitter { F32GEMMEmitter(context: context) }

    /// Two activations: f32.
    func matmul(_ node: Graph.Node, _ a: LoweredValue, _ aType: TensorType, _ b: LoweredValue, _ bType: TensorType) -> LoweredValue {
        float32.matmul(node, a, aType, b, bType)
    }

    /// `activation(x · w + bias) + residual` on the int8 panels of `w`; f32 when `w` is not stored so.
    func linear(_ node: Graph.Node, _ activation: FusedOp.Activation, _ x: [LoweredValue], _ types: [TensorType],
                bias hasBias: Bool, residual hasResidual: Bool) -> LoweredValue {
        guard let name = context.packedWeight(of: node), PanelLayout.format(ofConstant: name) == .int8 else {
            return float32.linear(node, activation, x, types, bias: hasBias, residual: hasResidual)
        }
        let o = linearOperands(node, x, types, bias: hasBias, residual: hasResidual, format: .int8)
        // A calibrated input range (`--calibrate`): one static scale instead of each row's.
        let range: ClosedRange<Float>? = if case .fused(.linear(_, _, _, let r)) = node.op { r } else { nil }
        let panels = context.chunks(o.n, of: PanelLayout.width)
        let chunks = context.chunks(o.rows, of: Self.rowsPerTask)
        let perTask = streaming(panelsPerTask(rows: o.rows, panels: panels, most: Self.panelsPerTask, smallRows: Self.smallRows,
                                              mostForSmallRows: Self.panelsPerSmallTask), rows: o.rows, panels: panels)
        let groups = context.chunks(panels, of: perTask)
        let captures = [context.pointer(o.input), o.weightBase, o.out.base, o.k, o.n, o.rows, panels, perTask, groups] + epiloguePointers(o)
        parallelFor(ir.mul(chunks, groups), scratchBytes: PanelLayout.int8ScratchBytes(k: o.kBound), capturing: captures) { task, c, scratch in
            let (a, w, out, k, n, rows, panels, perTask, groups) = (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8])
            let (biasPointer, residualPointer) = (c[9], c[10])
            let chunkIndex = ir.sdiv(task, groups), group = ir.srem(task, groups)
            let (begin, end) = context.chunk(chunkIndex, size: Self.rowsPerTask, of: rows)
            let (first, last) = panelRange(group, perTask: perTask, panels: panels)
            let quads = ir.sdiv(ir.add(k, ir.int(3)), ir.int(4))
            let count = ir.sub(end, begin)
            let panelInts = ir.mul(ir.add(quads, ir.int(2)), ir.int(PanelLayout.width))
            let rowC = ir.gep(ir.f32, out, ir.mul(begin, n))
            let epilogue = linearEpilogue(o, activation, n: n, biasPointer: biasPointer, residualPointer: residualPointer)
            /// The task's panels with `microkernel` on A's rows as prepared in the scratch (stride `lda`).
            func runPanels(_ microkernel: TiledGEMM.Microkernel, lda: LLVMValueRef) {
                ir.loop(first, last) { p in
                    let column = ir.mul(p, ir.int(PanelLayout.width))
                    tiles.gemmRows(ir.int(0), count, k: quads, a: scratch, lda: lda,
                                   panel: ir.gep(ir.i32, w, ir.mul(p, panelInts)), column: column,
                                   cols: context.minimum(ir.sub(n, column), ir.int(PanelLayout.width)), c: rowC, ldc: n,
                                   microkernel: microkernel,
                                   epilogue: epilogue.map { body in { i, j, value in body(ir.add(i, begin), j, value) } })
                }
            }
            // Decoding's few rows: weight-only (A stays f32); more rows: A quantized per row, `vpdpbusd`.
            let few = ir.block("int8_weight_only"), many = ir.block("int8_dynamic"), done = ir.block("int8_done")
            ir.condBr(ir.icmp(LLVMIntSLE, rows, ir.int(Int8TiledGEMM.weightOnlyRows)), few, many)
            ir.position(at: few)
            int8.padRows(ir.gep(ir.f32, a, ir.mul(begin, k)), lda: k, count: count, k: k, quads: quads, into: scratch)
            runPanels(int8.weightOnlyMicrokernel, lda: ir.mul(quads, ir.int(4)))
            ir.br(done)
            ir.position(at: many)
            int8.quantizeRows(ir.gep(ir.f32, a, ir.mul(begin, k)), lda: k, count: count, k: k, quads: quads, into: scratch, range: range)
            runPanels(int8.microkernel, lda: ir.add(quads, ir.int(Int8TiledGEMM.rowTail)))
            ir.br(done)
            ir.position(at: done)
        }
        addResidualAfterwards(o, node)
        return o.out
    }
}
