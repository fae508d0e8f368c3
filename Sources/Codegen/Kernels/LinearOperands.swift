import CLLVM
import Graph
import Tensors

/// The operands of a `fused_linear` as every precision's GEMM emitter reads them: the input made
/// contiguous, the weight (its packed panels when `pack-weights` stored it so, in `format`), the bias,
/// and the residual, which is added inside the tile when it has the result's own shape and layout and
/// afterwards otherwise.
struct LinearOperands {
    let input: LoweredValue
    let out: LoweredValue
    /// Inner dim, output columns and rows (every dim of the input but the last, multiplied).
    let k: LLVMValueRef, n: LLVMValueRef, rows: LLVMValueRef
    let weight: LoweredValue
    /// The packed weight's constant, nil when the kernel packs panels at run time.
    let packedName: String?
    /// The packed panels, else the weight's first element.
    let weightBase: LLVMValueRef
    let bias: LoweredValue?
    let residual: LoweredValue?
    let residualType: TensorType?
    let residualInTile: Bool
    /// The weight's `k` at the dims' bounds (sizes the scratch a run-time panel needs).
    let kBound: Int
}

/// The operands of a batched `matmul` as every precision's GEMM emitter reads them: A row-major (copied
/// otherwise), the output, the matrix sizes, and each batch dim's size and strides (0 where broadcast).
struct MatmulOperands {
    let a: LoweredValue
    let out: LoweredValue
    let m: LLVMValueRef, k: LLVMValueRef, n: LLVMValueRef
    let batchShape: [LLVMValueRef], aBatch: [LLVMValueRef], bBatch: [LLVMValueRef]
    /// Matrices in the batch (the batch dims multiplied).
    let matrices: LLVMValueRef
    /// A's `k` at the dims' bounds (sizes the scratch a run-time panel needs).
    let kBound: Int
}

extension GEMMEmitter {
    /// `matmul`'s operands, `a0` made row-major when it is not.
    func matmulOperands(_ node: Graph.Node, _ a0: LoweredValue, _ aType: TensorType, _ b: LoweredValue, _ bType: TensorType) -> MatmulOperands {
        let a = a0.layout == .rowMajor ? a0 : contiguous(a0, aType)
        let out = output(node)
        let batchDims = Array(node.type.shape.dropLast(2))
        let aBatch = Array(broadcastStrides(a, aType, to: TensorType(.float32, batchDims + Array(aType.shape.suffix(2)))).dropLast(2))
        let bBatch = Array(broadcastStrides(b, bType, to: TensorType(.float32, batchDims + Array(bType.shape.suffix(2)))).dropLast(2))
        let batchShape = Array(out.shape.dropLast(2))
        return MatmulOperands(a: a, out: out, m: a.shape[a.rank - 2], k: a.shape[a.rank - 1], n: b.shape[b.rank - 1],
                              batchShape: batchShape, aBatch: aBatch, bBatch: bBatch,
                              matrices: batchShape.reduce(ir.int(1)) { ir.mul($0, $1) },
                              kBound: aType.shape[aType.shape.count - 1].evaluate(maxBindings) ?? 0)
    }

    /// `fused_linear`'s operands: `x[0]`, `x[1]`, then the bias and the residual when present.
    func linearOperands(_ node: Graph.Node, _ x: [LoweredValue], _ types: [TensorType], bias hasBias: Bool, residual hasResidual: Bool,
                        format: PanelLayout.Format) -> LinearOperands {
        let input = contiguous(x[0], types[0])
        let out = output(node)
        let packedName = context.packedWeight(of: node)
        let weight = x[1]
        let residualType = hasResidual ? types[hasBias ? 3 : 2] : nil
        let residual = hasResidual ? x[hasBias ? 3 : 2] : nil
        return LinearOperands(
            input: input, out: out, k: input.shape[input.rank - 1], n: out.shape[out.rank - 1],
            rows: input.shape.dropLast().reduce(ir.int(1)) { ir.mul($0, $1) },
            weight: weight, packedName: packedName,
            weightBase: packedName.map { context.constantPointer(ConstantSlot(name: $0, panels: format)) } ?? ir.gep(ir.f32, weight.base, weight.offset),
            bias: hasBias ? contiguous(x[2], types[2]) : nil, residual: residual, residualType: residualType,
            residualInTile: residual.map { $0.contiguous && residualType == node.type } ?? false,
            kBound: types[1].shape[0].evaluate(maxBindings) ?? 0)
    }

    /// The bias and in-tile residual pointers a task captures (null when absent).
    func epiloguePointers(_ o: LinearOperands) -> [LLVMValueRef] {
        [o.bias.map { ir.gep(ir.f32, $0.base, $0.offset) } ?? LLVMConstNull(ir.ptr),
         o.residualInTile ? o.residual.map { ir.gep(ir.f32, $0.base, $0.offset) } ?? LLVMConstNull(ir.ptr) : LLVMConstNull(ir.ptr)]
    }

    /// The tile epilogue inside a task (`value` at row `i`, column `j` of an `n`-column result): bias,
    /// activation, in-tile residual; nil when there is nothing to apply.
    func linearEpilogue(_ o: LinearOperands, _ activation: FusedOp.Activation, n: LLVMValueRef, biasPointer: LLVMValueRef,
                        residualPointer: LLVMValueRef) -> ((LLVMValueRef, LLVMValueRef, LLVMValueRef) -> LLVMValueRef)? {
        guard o.bias != nil || activation != .none || o.residualInTile else { return nil }
        return { i, j, value in
            var y = value
            if o.bias != nil { y = ir.fadd(y, ir.load(ir.f32, ir.gep(ir.f32, biasPointer, j))) }
            if let u = activation.unary { y = scalars.unary(u, y, dtype: .float32) }
            if o.residualInTile { y = ir.fadd(y, ir.load(ir.f32, ir.gep(ir.f32, residualPointer, ir.add(ir.mul(i, n), j)))) }
            return y
        }
    }

    /// The element offsets of batch matrix `matrix` (row-major over the batch dims `shape`) in each
    /// operand, given its batch `strides` and its offset at matrix 0 (`from`).
    func batchOffsets(of matrix: LLVMValueRef, shape: [LLVMValueRef], strides: [[LLVMValueRef]], from start: [LLVMValueRef]) -> [LLVMValueRef] {
        var offsets = start, rest = matrix
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            let i = ir.srem(rest, shape[d])
            rest = ir.sdiv(rest, shape[d])
            for o in offsets.indices { offsets[o] = ir.add(offsets[o], ir.mul(i, strides[o][d])) }
        }
        return offsets
    }

    /// Panels `[first, last)` of task `group` (of `perTask` panels each) out of `panels`.
    func panelRange(_ group: LLVMValueRef, perTask: LLVMValueRef, panels: LLVMValueRef) -> (LLVMValueRef, LLVMValueRef) {
        let first = ir.mul(group, perTask)
        return (first, context.minimum(ir.add(first, perTask), panels))
    }

    /// `perTask`, or, for a linear layer of at most `LinearStreaming.rows` rows (decoding), runs of
    /// consecutive panels making about `LinearStreaming.tasks` tasks, if longer. Decoding reads every weight once, from
    /// DRAM: with one panel per task the two threads took alternate panels, so neither read a run of
    /// memory front to back and a tile's prefetch past its panel's end fetched the panel the other
    /// thread read next. Measured on an AMD EPYC (2026-12-04 ~13:00 UTC, libraries interleaved by
    /// hand, tokens/s): GPT-2 f32 69–80 → 87–88, SmolLM2-sized f32 63–65 → 62–68, int8 unchanged
    /// within the noise (GPT-2 188–198 → 175–203, SmolLM2 139–162 → 149–159).
    func streaming(_ perTask: LLVMValueRef, rows: LLVMValueRef, panels: LLVMValueRef) -> LLVMValueRef {
        let run = context.maximum(perTask, context.chunks(panels, of: LinearStreaming.tasks))
        return ir.select(ir.icmp(LLVMIntSLE, rows, ir.int(LinearStreaming.rows)), run, perTask)
    }

    /// Panels per task of a kernel that converts its rows of A once per task (bf16, int8), for `rows`
    /// rows of A and `panels` panels: even groups of at most `most` (`⌈panels / ⌈panels / most⌉⌉`), so
    /// the conversion is shared, or of at most `mostForSmallRows` up to `smallRows` rows (converting few
    /// rows is cheap, and more tasks keep every thread busy on the narrow products of decoding).
    func panelsPerTask(rows: LLVMValueRef, panels: LLVMValueRef, most: Int, smallRows: Int, mostForSmallRows: Int = 1) -> LLVMValueRef {
        func even(_ most: Int) -> LLVMValueRef {
            let groups = context.chunks(panels, of: most)
            return context.maximum(ir.sdiv(ir.add(panels, ir.sub(groups, ir.int(1))), context.maximum(groups, ir.int(1))), ir.int(1))
        }
        return ir.select(ir.icmp(LLVMIntSGT, rows, ir.int(smallRows)), even(most), mostForSmallRows == 1 ? ir.int(1) : even(mostForSmallRows))
    }

    /// Adds a residual of another shape or layout after the product.
    func addResidualAfterwards(_ o: LinearOperands, _ node: Graph.Node) {
        guard let residual = o.residual, let residualType = o.residualType, !o.residualInTile else { return }
        let strides = broadcastStrides(residual, residualType, to: node.type)
        ir.loops(o.out.shape) { indices in
            let target = address(o.out, indices)
            ir.store(ir.fadd(ir.load(ir.f32, target), load(residual, strides: strides, indices)), target)
        }
    }
}

/// The products `streaming` groups into runs: at most `rows` rows, spread over about `tasks` tasks.
enum LinearStreaming {
    static let rows = 4
    static let tasks = 32
}
