import CLLVM
import Graph
import Tensors

/// The matrix-product kernels of one precision: a batched `matmul` and the fused
/// `activation(x · w + bias) + residual`. `GraphLowering` dispatches both ops here, so another
/// precision (bf16, int8) is another conforming type, chosen in `KernelSet`.
protocol GEMMEmitter: KernelEmitter {
    /// Batched `A · B`, broadcasting over the batch dims.
    func matmul(_ node: Graph.Node, _ a: LoweredValue, _ aType: TensorType, _ b: LoweredValue, _ bType: TensorType) -> LoweredValue
    /// `fused_linear`: `x` and `w` are `x[0]`, `x[1]`; bias and residual follow when present.
    func linear(_ node: Graph.Node, _ activation: FusedOp.Activation, _ x: [LoweredValue], _ types: [TensorType],
                bias: Bool, residual: Bool) -> LoweredValue
}

/// How tall the row chunks of the f32 GEMM tasks are (`LoweringContext.gemmRowChunks`).
enum GEMMChunking {
    /// The bytes of A one task's rows may take: half the smallest L2 of the CPUs measured (AMD Zen 4's
    /// 1 MiB; an Intel Xeon's is 2 MiB), leaving the other half to the panel streaming through it.
    static let aBytes = 512 << 10
}

/// f32 matrix products as tiled GEMM tasks (`TiledGEMM`), one per (batch matrix, row chunk, 32-column
/// panel), the chunks as tall as `GEMMChunking` allows. Constant weights are read from panels packed at
/// compile time; any other right operand is packed per panel into the task's scratch, from whatever
/// strides it has.
struct F32GEMMEmitter: GEMMEmitter {
    let context: LoweringContext

    private var tiles: TiledGEMM { TiledGEMM(context: context) }

    /// A is read row-major (a copy is made otherwise); B is packed per panel, so a transposed
    /// operand costs no extra pass.
    func matmul(_ node: Graph.Node, _ a0: LoweredValue, _ aType: TensorType, _ b: LoweredValue, _ bType: TensorType) -> LoweredValue {
        let o = matmulOperands(node, a0, aType, b, bType)
        let (a, out, m, k, n) = (o.a, o.out, o.m, o.k, o.n)
        let ra = a.rank, rb = b.rank, ro = out.rank
        let (aBatch, bBatch, batchShape, matrices) = (o.aBatch, o.bBatch, o.batchShape, o.matrices)
        let width = PanelLayout.width
        let panels = context.chunks(n, of: width)
        let (chunks, chunkRows) = context.gemmRowChunks(rows: m, k: k, elementBytes: 4, tileRows: context.f32TileRows)
        let kBound = o.kBound
        let nb = batchShape.count
        let captures = [a.base, a.offset, a.strides[ra - 2], b.base, b.offset, b.strides[rb - 2], b.strides[rb - 1],
                        out.base, out.strides[ro - 2], m, n, k, panels, chunks, chunkRows]
            + batchShape + aBatch + bBatch + Array(out.strides.prefix(nb))
        let tasks = ir.mul(matrices, ir.mul(chunks, panels))
        parallelFor(tasks, scratchBytes: max(1, kBound) * width * 4, capturing: captures) { task, c, scratch in
            let (aBase, aOffset, lda, bBase, bOffset, strideK, strideN) = (c[0], c[1], c[2], c[3], c[4], c[5], c[6])
            let (oBase, ldo, m, n, k, panels, chunks) = (c[7], c[8], c[9], c[10], c[11], c[12], c[13])
            let chunkRows = c[14]
            let shape = Array(c[15..<(15 + nb)]), aS = Array(c[(15 + nb)..<(15 + 2 * nb)])
            let bS = Array(c[(15 + 2 * nb)..<(15 + 3 * nb)]), oS = Array(c[(15 + 3 * nb)..<(15 + 4 * nb)])
            let p = ir.srem(task, panels)
            let rest = ir.sdiv(task, panels)
            let chunkIndex = ir.srem(rest, chunks)
            let matrix = ir.sdiv(rest, chunks)
            let offsets = batchOffsets(of: matrix, shape: shape, strides: [aS, bS, oS], from: [aOffset, bOffset, ir.int(0)])
            let (oa, ob, oc) = (offsets[0], offsets[1], offsets[2])
            let (begin, end) = context.chunk(chunkIndex, size: chunkRows, of: m)
            let column = ir.mul(p, ir.int(width))
            let left = ir.sub(n, column)
            tiles.packPanel(from: ir.gep(ir.f32, bBase, ob), strideK: strideK, strideN: strideN, k: k, n: n, column: column, into: scratch)
            tiles.gemmRows(begin, end, k: k, a: ir.gep(ir.f32, aBase, oa), lda: lda, panel: scratch, column: column,
                           cols: context.minimum(left, ir.int(width)), c: ir.gep(ir.f32, oBase, oc), ldc: ldo)
        }
        return out
    }

    /// The epilogue is applied to each tile while it is in L1; a residual of another shape or
    /// layout is added afterwards.
    func linear(_ node: Graph.Node, _ activation: FusedOp.Activation, _ x: [LoweredValue], _ types: [TensorType],
                bias hasBias: Bool, residual hasResidual: Bool) -> LoweredValue {
        let o = linearOperands(node, x, types, bias: hasBias, residual: hasResidual, format: .f32)
        let width = PanelLayout.width
        let panels = context.chunks(o.n, of: width)
        let (chunks, chunkRows) = context.gemmRowChunks(rows: o.rows, k: o.k, elementBytes: 4, tileRows: context.f32TileRows)
        let group = streaming(ir.int(1), rows: o.rows, panels: panels)
        let groups = context.chunks(panels, of: group)
        let captures = [context.pointer(o.input), o.weightBase, o.weight.strides[0], o.weight.strides[1], o.out.base, o.k, o.n, o.rows, panels]
            + epiloguePointers(o) + [chunkRows, group, groups]
        let packed = o.packedName != nil
        parallelFor(ir.mul(chunks, groups), scratchBytes: packed ? 0 : o.kBound * width * 4, capturing: captures) { task, c, scratch in
            let (a, w, strideK, strideN, out, k, n, rows, panels, biasPointer, residualPointer) =
                (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10])
            let (group, groups) = (c[12], c[13])
            let chunkIndex = ir.sdiv(task, groups)
            let (first, last) = panelRange(ir.srem(task, groups), perTask: group, panels: panels)
            let (begin, end) = context.chunk(chunkIndex, size: c[11], of: rows)
            ir.loop(first, last) { p in
                let column = ir.mul(p, ir.int(width))
                let cols = context.minimum(ir.sub(n, column), ir.int(width))
                let panel: LLVMValueRef
                if packed {
                    panel = ir.gep(ir.f32, w, ir.mul(p, ir.mul(k, ir.int(width))))
                } else {
                    tiles.packPanel(from: w, strideK: strideK, strideN: strideN, k: k, n: n, column: column, into: scratch)
                    panel = scratch
                }
                tiles.gemmRows(begin, end, k: k, a: a, lda: k, panel: panel, column: column, cols: cols, c: out, ldc: n,
                               epilogue: linearEpilogue(o, activation, n: n, biasPointer: biasPointer, residualPointer: residualPointer))
            }
        }
        addResidualAfterwards(o, node)
        return o.out
    }
}
