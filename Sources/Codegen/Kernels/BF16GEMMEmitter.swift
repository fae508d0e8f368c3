import CLLVM
import Graph
import Tensors

/// bf16 matrix products (`Precision.bf16`): `vdpbf16ps` on bf16 operands with f32 accumulation
/// (`BF16TiledGEMM`). A task takes up to 64 rows of A, rounds them to bf16 pairs once into its
/// scratch, then runs them against a group of 32-column panels: the weight's bf16 panels packed at
/// compile time (`PanelLayout.Format.bf16`), or panels packed at run time from any other right
/// operand. The epilogue (bias, activation, residual) is the f32 one, applied per tile.
struct BF16GEMMEmitter: GEMMEmitter {
    let context: LoweringContext
    /// Rows of A per task.
    static let rowsPerTask = PanelLayout.bf16RowsPerTask
    /// At most this many panels per task when A has more than `smallRows` rows: the rounding of A is
    /// shared by them (measured at 128 × 384 × 1536 on one Zen 4 core: 169 GFLOP/s with one panel per
    /// task, 204 with 4, 213 with 8, 216 with 16). The panels are split evenly among the groups.
    static let panelsPerTask = 8
    /// Up to this many rows, one panel per task (rounding A is cheap, and more tasks keep every
    /// thread busy on the narrow products of decoding).
    static let smallRows = 16

    private var tiles: TiledGEMM { TiledGEMM(context: context) }
    private var bf16: BF16TiledGEMM { BF16TiledGEMM(context: context) }

    /// The panels of one task: rounds rows `[begin, end)` of f32 `a` (stride `lda`) into `scratch`,
    /// then for every panel `p` in `[first, last)`: `panel(p, scratchAfterA)` gives its bf16 pairs,
    /// the microkernel fills C's rows (at `c`, stride `ldc`) and `epilogue(row, column, value)` runs.
    private func rowsTimesPanels(begin: LLVMValueRef, end: LLVMValueRef, a: LLVMValueRef, lda: LLVMValueRef, k: LLVMValueRef,
                                 n: LLVMValueRef, first: LLVMValueRef, last: LLVMValueRef, c: LLVMValueRef, ldc: LLVMValueRef,
                                 scratch: LLVMValueRef, panel: (_ p: LLVMValueRef, _ column: LLVMValueRef, _ free: LLVMValueRef) -> LLVMValueRef,
                                 epilogue: ((_ row: LLVMValueRef, _ column: LLVMValueRef, _ value: LLVMValueRef) -> LLVMValueRef)?) {
        let width = PanelLayout.width
        let pairs = ir.sdiv(ir.add(k, ir.int(1)), ir.int(2))
        let count = ir.sub(end, begin)
        bf16.convertRows(ir.gep(ir.f32, a, ir.mul(begin, lda)), lda: lda, count: count, k: k, pairs: pairs, into: scratch)
        // After A's pairs, 64-byte aligned (the layout `PanelLayout.bf16ScratchBytes` reserves).
        let aBytes = ir.and(ir.add(ir.mul(ir.int(Self.rowsPerTask * 4), pairs), ir.int(63)), ir.int(~63))
        let free = ir.gep(ir.i8, scratch, aBytes)
        let rowC = ir.gep(ir.f32, c, ir.mul(begin, ldc))
        ir.loop(first, last) { p in
            let column = ir.mul(p, ir.int(width))
            let cols = context.minimum(ir.sub(n, column), ir.int(width))
            tiles.gemmRows(ir.int(0), count, k: pairs, a: scratch, lda: pairs, panel: panel(p, column, free), column: column,
                           cols: cols, c: rowC, ldc: ldc, microkernel: bf16.microkernel,
                           epilogue: epilogue.map { body in { i, j, value in body(ir.add(i, begin), j, value) } })
        }
    }

    /// Batched `A · B`, broadcasting over the batch dims; both operands rounded to bf16 per task.
    func matmul(_ node: Graph.Node, _ a0: LoweredValue, _ aType: TensorType, _ b: LoweredValue, _ bType: TensorType) -> LoweredValue {
        let o = matmulOperands(node, a0, aType, b, bType)
        let (a, out, m, k, n) = (o.a, o.out, o.m, o.k, o.n)
        let ra = a.rank, rb = b.rank, ro = out.rank
        let (aBatch, bBatch, batchShape, matrices) = (o.aBatch, o.bBatch, o.batchShape, o.matrices)
        let panels = context.chunks(n, of: PanelLayout.width)
        let chunks = context.chunks(m, of: Self.rowsPerTask)
        let perTask = panelsPerTask(rows: m, panels: panels, most: Self.panelsPerTask, smallRows: Self.smallRows)
        let groups = context.chunks(panels, of: perTask)
        let kBound = o.kBound
        let nb = batchShape.count
        let captures = [a.base, a.offset, a.strides[ra - 2], b.base, b.offset, b.strides[rb - 2], b.strides[rb - 1],
                        out.base, out.strides[ro - 2], m, n, k, panels, chunks, perTask, groups]
            + batchShape + aBatch + bBatch + Array(out.strides.prefix(nb))
        let tasks = ir.mul(matrices, ir.mul(chunks, groups))
        parallelFor(tasks, scratchBytes: PanelLayout.bf16ScratchBytes(k: kBound, packsPanel: true), capturing: captures) { task, c, scratch in
            let (aBase, aOffset, lda, bBase, bOffset, strideK, strideN) = (c[0], c[1], c[2], c[3], c[4], c[5], c[6])
            let (oBase, ldo, m, n, k, panels, chunks, perTask, groups) = (c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15])
            let base = 16
            let shape = Array(c[base..<(base + nb)]), aS = Array(c[(base + nb)..<(base + 2 * nb)])
            let bS = Array(c[(base + 2 * nb)..<(base + 3 * nb)]), oS = Array(c[(base + 3 * nb)..<(base + 4 * nb)])
            let group = ir.srem(task, groups)
            let rest = ir.sdiv(task, groups)
            let chunkIndex = ir.srem(rest, chunks)
            let matrix = ir.sdiv(rest, chunks)
            let offsets = batchOffsets(of: matrix, shape: shape, strides: [aS, bS, oS], from: [aOffset, bOffset, ir.int(0)])
            let (oa, ob, oc) = (offsets[0], offsets[1], offsets[2])
            let (begin, end) = context.chunk(chunkIndex, size: Self.rowsPerTask, of: m)
            let (first, last) = panelRange(group, perTask: perTask, panels: panels)
            let pairs = ir.sdiv(ir.add(k, ir.int(1)), ir.int(2))
            let bMatrix = ir.gep(ir.f32, bBase, ob)
            rowsTimesPanels(begin: begin, end: end, a: ir.gep(ir.f32, aBase, oa), lda: lda, k: k, n: n, first: first, last: last,
                            c: ir.gep(ir.f32, oBase, oc), ldc: ldo, scratch: scratch, panel: { _, column, free in
                bf16.packPanel(from: bMatrix, strideK: strideK, strideN: strideN, k: k, n: n, column: column, pairs: pairs, into: free)
                return free
            }, epilogue: nil)
        }
        return out
    }

    /// `activation(x · w + bias) + residual` with the epilogue applied per tile; a residual of
    /// another shape or layout is added afterwards.
    func linear(_ node: Graph.Node, _ activation: FusedOp.Activation, _ x: [LoweredValue], _ types: [TensorType],
                bias hasBias: Bool, residual hasResidual: Bool) -> LoweredValue {
        let o = linearOperands(node, x, types, bias: hasBias, residual: hasResidual, format: .bf16)
        let panels = context.chunks(o.n, of: PanelLayout.width)
        let chunks = context.chunks(o.rows, of: Self.rowsPerTask)
        let perTask = streaming(panelsPerTask(rows: o.rows, panels: panels, most: Self.panelsPerTask, smallRows: Self.smallRows),
                                rows: o.rows, panels: panels)
        let groups = context.chunks(panels, of: perTask)
        let captures = [context.pointer(o.input), o.weightBase, o.weight.strides[0], o.weight.strides[1],
                        o.out.base, o.k, o.n, o.rows, panels, perTask, groups] + epiloguePointers(o)
        let packed = o.packedName != nil
        let scratchBytes = PanelLayout.bf16ScratchBytes(k: o.kBound, packsPanel: !packed)
        parallelFor(ir.mul(chunks, groups), scratchBytes: scratchBytes, capturing: captures) { task, c, scratch in
            let (a, w, strideK, strideN, out, k, n, rows) = (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])
            let (panels, perTask, groups, biasPointer, residualPointer) = (c[8], c[9], c[10], c[11], c[12])
            let chunkIndex = ir.sdiv(task, groups), group = ir.srem(task, groups)
            let (begin, end) = context.chunk(chunkIndex, size: Self.rowsPerTask, of: rows)
            let (first, last) = panelRange(group, perTask: perTask, panels: panels)
            let pairs = ir.sdiv(ir.add(k, ir.int(1)), ir.int(2))
            rowsTimesPanels(begin: begin, end: end, a: a, lda: k, k: k, n: n, first: first, last: last, c: out, ldc: n, scratch: scratch,
                            panel: { p, column, free in
                if packed { return ir.gep(ir.i32, w, ir.mul(p, ir.mul(pairs, ir.int(PanelLayout.width)))) }
                bf16.packPanel(from: w, strideK: strideK, strideN: strideN, k: k, n: n, column: column, pairs: pairs, into: free)
                return free
            }, epilogue: linearEpilogue(o, activation, n: n, biasPointer: biasPointer, residualPointer: residualPointer))
        }
        addResidualAfterwards(o, node)
        return o.out
    }
}
