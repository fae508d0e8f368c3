import CLLVM
import Graph
import Tensors

/// Lowering of the optimizer's fused ops (see docs/passes.md for their exact semantics).
extension GraphLowering {
    func lower(_ node: Graph.Node, _ op: FusedOp, _ x: [LoweredValue]) throws -> LoweredValue {
        let types = node.inputs.map { graph.node($0)!.type }
        switch op {
        case .elementwise(let program):
            return try fusedElementwise(node, program, x, types)
        case .linear(let activation, let hasBias, let hasResidual):
            return fusedLinear(node, activation, x, types, bias: hasBias, residual: hasResidual)
        case .layerNorm(let eps, let hasResidual):
            return fusedLayerNorm(node, Float(eps), x, types, residual: hasResidual)
        case .attention(let attributes):
            return try fusedAttention(node, attributes, x, types)
        }
    }

    // MARK: Elementwise programs

    /// One loop over the result evaluating the register program at each element: every input is
    /// read at its broadcast position, exactly as the primitives it replaced would have.
    func fusedElementwise(_ node: Graph.Node, _ program: ElementwiseProgram, _ x: [LoweredValue],
                          _ types: [TensorType]) throws -> LoweredValue {
        // Each register's dtype, from the primitives' own type rules.
        var dtypes: [DType] = []
        for instruction in program.instructions {
            switch instruction {
            case .input(let i): dtypes.append(types[i].dtype)
            case .op(let op, let registers):
                let t = try TypeInference.infer(.op(op), registers.map { TensorType(dtypes[$0], []) })
                dtypes.append(t.dtype)
            }
        }
        return elementwise(node, x) { loaded in
            var registers: [LLVMValueRef] = []
            for instruction in program.instructions {
                switch instruction {
                case .input(let i):
                    registers.append(loaded[i])
                case .op(let op, let r):
                    registers.append(scalar(op, r.map { registers[$0] }, r.map { dtypes[$0] }))
                }
            }
            return registers.last!
        }
    }

    /// One element of an elementwise primitive on scalar operands.
    func scalar(_ op: TensorOp, _ v: [LLVMValueRef], _ dtypes: [DType]) -> LLVMValueRef {
        switch op {
        case .unary(let u): return unary(u, v[0], dtype: dtypes[0])
        case .binary(let b): return binary(b, v[0], v[1], dtype: dtypes[0])
        case .binaryScalar(let b, let s, let first):
            let dtype = dtypes[0]
            let integral = s.rounded() == s && Swift.abs(s) < 9e15
            let computeType: DType = dtype.isInteger && (!integral || b == .div || b == .pow) ? .float32 : dtype
            let c = constant(s, computeType), a = cast(v[0], from: dtype, to: computeType)
            return first ? binary(b, c, a, dtype: computeType) : binary(b, a, c, dtype: computeType)
        case .select: return ir.select(ir.icmp(LLVMIntNE, v[0], ir.byte(0)), v[1], v[2])
        case .cast(let to): return cast(v[0], from: dtypes[0], to: to)
        default: return v[0]
        }
    }

    // MARK: Linear

    /// `activation(x · w + bias) + residual` as tiled GEMM tasks (`TiledGEMM`), one per (64-row
    /// chunk, 32-column panel), the epilogue applied to each tile while it is in L1. A constant
    /// weight is read from its pre-packed panels; any other weight is packed per panel.
    func fusedLinear(_ node: Graph.Node, _ activation: FusedOp.Activation, _ x: [LoweredValue], _ types: [TensorType],
                     bias hasBias: Bool, residual hasResidual: Bool) -> LoweredValue {
        let input = contiguous(x[0], types[0])
        let out = allocate(node.type)
        let k = input.shape[input.rank - 1], n = out.shape[out.rank - 1]
        let rows = input.shape.dropLast().reduce(ir.int(1)) { ir.mul($0, $1) }
        let packedName = packedWeight(of: node)
        let weight = x[1]
        let weightBase = packedName.map { constantPointer(ConstantSlot(name: $0, packed: true)) }
            ?? ir.gep(ir.f32, weight.base, weight.offset)
        let bias = hasBias ? contiguous(x[2], types[2]) : nil
        let residualType = hasResidual ? types[hasBias ? 3 : 2] : nil
        let residual = hasResidual ? x[hasBias ? 3 : 2] : nil
        // A residual of the result's own shape and layout is added in the tile; others afterwards.
        let residualInTile = residual.map { $0.contiguous && residualType == node.type } ?? false
        let chunk = 64, width = PanelLayout.width
        let panels = ir.sdiv(ir.add(n, ir.int(width - 1)), ir.int(width))
        let chunks = ir.sdiv(ir.add(rows, ir.int(chunk - 1)), ir.int(chunk))
        let kBound = types[1].shape[0].evaluate(maxBindings) ?? 0
        var captures = [ir.gep(ir.f32, input.base, input.offset), weightBase, weight.strides[0], weight.strides[1],
                        out.base, k, n, rows, panels]
        captures.append(bias.map { ir.gep(ir.f32, $0.base, $0.offset) } ?? LLVMConstNull(ir.ptr))
        captures.append(residualInTile ? ir.gep(ir.f32, residual!.base, residual!.offset) : LLVMConstNull(ir.ptr))
        parallelFor(ir.mul(chunks, panels), scratchBytes: packedName == nil ? kBound * width * 4 : 0, capturing: captures) { task, c, scratch in
            let (a, w, strideK, strideN, o, k, n, rows, panels, biasPointer, residualPointer) =
                (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10])
            let chunkIndex = ir.sdiv(task, panels), p = ir.srem(task, panels)
            let begin = ir.mul(chunkIndex, ir.int(chunk))
            let end = ir.select(ir.icmp(LLVMIntSLT, ir.add(begin, ir.int(chunk)), rows), ir.add(begin, ir.int(chunk)), rows)
            let column = ir.mul(p, ir.int(width))
            let left = ir.sub(n, column)
            let cols = ir.select(ir.icmp(LLVMIntSLT, left, ir.int(width)), left, ir.int(width))
            let panel: LLVMValueRef
            if packedName != nil {
                panel = ir.gep(ir.f32, w, ir.mul(p, ir.mul(k, ir.int(width))))
            } else {
                packPanel(from: w, strideK: strideK, strideN: strideN, k: k, n: n, column: column, into: scratch)
                panel = scratch
            }
            let needsEpilogue = bias != nil || activation != .none || residualInTile
            gemmRows(begin, end, k: k, a: a, lda: k, panel: panel, column: column, cols: cols, c: o, ldc: n,
                     epilogue: !needsEpilogue ? nil : { [self] i, j, value in
                var y = value
                if bias != nil { y = ir.fadd(y, ir.load(ir.f32, ir.gep(ir.f32, biasPointer, j))) }
                if let u = activation.unary { y = unary(u, y, dtype: .float32) }
                if residualInTile { y = ir.fadd(y, ir.load(ir.f32, ir.gep(ir.f32, residualPointer, ir.add(ir.mul(i, n), j)))) }
                return y
            })
        }
        if let residual, let residualType, !residualInTile {
            let strides = broadcastStrides(residual, residualType, to: node.type)
            ir.loops(out.shape) { indices in
                let target = address(out, indices)
                ir.store(ir.fadd(ir.load(ir.f32, target), load(residual, strides: strides, indices)), target)
            }
        }
        return out
    }

    // MARK: Layer norm

    /// `LayerNorm(x + residual) · weight + bias` over the last dim, one row at a time.
    func fusedLayerNorm(_ node: Graph.Node, _ eps: Float, _ x: [LoweredValue], _ types: [TensorType],
                        residual hasResidual: Bool) -> LoweredValue {
        let out = allocate(node.type)
        let input = x[0]
        let residual = hasResidual ? x[1] : nil
        let flat = input.contiguous && types[0] == node.type && (residual.map { $0.contiguous && types[1] == node.type } ?? true)
        if flat {
            return parallelLayerNorm(out, eps, input, residual, weight: contiguous(x[hasResidual ? 2 : 1], types[hasResidual ? 2 : 1]),
                                     bias: contiguous(x[hasResidual ? 3 : 2], types[hasResidual ? 3 : 2]))
        }
        let residualStrides = residual.map { broadcastStrides($0, types[1], to: node.type) }
        let inputStrides = broadcastStrides(input, types[0], to: node.type)
        let weight = contiguous(x[hasResidual ? 2 : 1], types[hasResidual ? 2 : 1])
        let bias = contiguous(x[hasResidual ? 3 : 2], types[hasResidual ? 3 : 2])
        let n = out.shape.last!
        let f32 = ir.f32
        ir.loops(Array(out.shape.dropLast())) { row in
            func at(_ j: LLVMValueRef) -> [LLVMValueRef] { row + [j] }
            let sumSlot = local(f32)
            ir.store(ir.float(0), sumSlot)
            ir.loop(ir.int(0), n) { j in
                var v = load(input, strides: inputStrides, at(j))
                if let residual, let residualStrides { v = ir.fadd(v, load(residual, strides: residualStrides, at(j))) }
                ir.store(v, address(out, at(j)))
                ir.store(ir.faddReassoc(ir.load(f32, sumSlot), v), sumSlot)
            }
            let mean = ir.fdiv(ir.load(f32, sumSlot), ir.sitofp(n))
            let varSlot = local(f32)
            ir.store(ir.float(0), varSlot)
            ir.loop(ir.int(0), n) { j in
                let d = ir.fsub(ir.load(f32, address(out, at(j))), mean)
                ir.store(ir.faddReassoc(ir.load(f32, varSlot), ir.fmul(d, d)), varSlot)
            }
            let rstd = ir.fdiv(ir.float(1), ir.intrinsic("llvm.sqrt", [ir.fadd(ir.fdiv(ir.load(f32, varSlot), ir.sitofp(n)), ir.float(eps))]))
            ir.loop(ir.int(0), n) { j in
                let y = ir.fmul(ir.fsub(ir.load(f32, address(out, at(j))), mean), rstd)
                let w = ir.load(f32, ir.gep(f32, weight.base, ir.add(weight.offset, j)))
                let b = ir.load(f32, ir.gep(f32, bias.base, ir.add(bias.offset, j)))
                ir.store(ir.fadd(ir.fmul(y, w), b), address(out, at(j)))
            }
        }
        return out
    }

    /// Layer norm over contiguous rows (the common case) as parallel tasks of 16 rows each.
    func parallelLayerNorm(_ out: LoweredValue, _ eps: Float, _ input: LoweredValue, _ residual: LoweredValue?,
                           weight: LoweredValue, bias: LoweredValue) -> LoweredValue {
        let n = out.shape.last!
        let rows = out.shape.dropLast().reduce(ir.int(1)) { ir.mul($0, $1) }
        let chunk = 16
        let pointer = { (v: LoweredValue) in self.ir.gep(self.ir.f32, v.base, v.offset) }
        let captures: [LLVMValueRef] = [pointer(input), residual.map(pointer) ?? LLVMConstNull(ir.ptr)!, pointer(weight), pointer(bias),
                        out.base, rows, n]
        parallelFor(ir.sdiv(ir.add(rows, ir.int(chunk - 1)), ir.int(chunk)), scratchBytes: 0, capturing: captures) { task, c, _ in
            let (x, r, w, b, y, rows, n) = (c[0], c[1], c[2], c[3], c[4], c[5], c[6])
            let f32 = ir.f32
            let begin = ir.mul(task, ir.int(chunk))
            let end = ir.select(ir.icmp(LLVMIntSLT, ir.add(begin, ir.int(chunk)), rows), ir.add(begin, ir.int(chunk)), rows)
            ir.loop(begin, end) { row in
                let base = ir.mul(row, n)
                let sumSlot = local(f32)
                ir.store(ir.float(0), sumSlot)
                ir.loop(ir.int(0), n) { j in
                    var v = ir.load(f32, ir.gep(f32, x, ir.add(base, j)))
                    if residual != nil { v = ir.fadd(v, ir.load(f32, ir.gep(f32, r, ir.add(base, j)))) }
                    ir.store(v, ir.gep(f32, y, ir.add(base, j)))
                    ir.store(ir.faddReassoc(ir.load(f32, sumSlot), v), sumSlot)
                }
                let mean = ir.fdiv(ir.load(f32, sumSlot), ir.sitofp(n))
                let varSlot = local(f32)
                ir.store(ir.float(0), varSlot)
                ir.loop(ir.int(0), n) { j in
                    let d = ir.fsub(ir.load(f32, ir.gep(f32, y, ir.add(base, j))), mean)
                    ir.store(ir.faddReassoc(ir.load(f32, varSlot), ir.fmul(d, d)), varSlot)
                }
                let rstd = ir.fdiv(ir.float(1), ir.intrinsic("llvm.sqrt", [ir.fadd(ir.fdiv(ir.load(f32, varSlot), ir.sitofp(n)), ir.float(eps))]))
                ir.loop(ir.int(0), n) { j in
                    let p = ir.gep(f32, y, ir.add(base, j))
                    let normalized = ir.fmul(ir.fsub(ir.load(f32, p), mean), rstd)
                    ir.store(ir.fadd(ir.fmul(normalized, ir.load(f32, ir.gep(f32, w, j))), ir.load(f32, ir.gep(f32, b, j))), p)
                }
            }
        }
        return out
    }

    // MARK: Attention

    /// One task per (batch, head): S = Q·Kᵀ (tiled GEMM over Kᵀ packed into the task's scratch),
    /// scale, mask and causal limit applied while the score block is in cache, softmax in place, then
    /// P·V (V packed per panel) written straight into the merged `[batch, seq, heads·dv]` result.
    func fusedAttention(_ node: Graph.Node, _ a: FusedOp.Attention, _ x: [LoweredValue], _ types: [TensorType]) throws -> LoweredValue {
        let q = contiguous(x[0], types[0]), k = contiguous(x[1], types[1]), v = contiguous(x[2], types[2])
        let out = allocate(node.type)
        let heads = a.heads
        guard let qWidth = types[0].shape.last?.constant, qWidth % heads == 0 else {
            throw CodegenError("fused_attention: the query width must be a constant multiple of \(heads) heads")
        }
        let d = qWidth / heads
        let outWidth = node.type.shape.last!.constant!
        let dv = outWidth / heads
        let merged = a.kvLayout == .merged
        let tType = merged ? types[1].shape[1] : types[1].shape[2]
        let maxS = max(1, types[0].shape[1].evaluate(maxBindings) ?? 1)
        let maxT = max(1, tType.evaluate(maxBindings) ?? 1)
        let width = PanelLayout.width
        let packFloats = max(PanelLayout.panels(maxT) * width * d, PanelLayout.panels(dv) * width * maxT)
        let scoresFloats = (maxS * maxT + 15) & ~15
        let mask = a.masked ? x[3] : nil
        let maskStrides = mask.map {
            broadcastStrides($0, types[3], to: TensorType(.float32, [types[0].shape[0], SymbolicInt(heads), types[0].shape[1], tType]))
        }
        let b = q.shape[0], s = q.shape[1], t = merged ? k.shape[1] : k.shape[2]
        // Per (batch, head) element offsets and row strides of K and V.
        let kBatch = k.strides[0], vBatch = v.strides[0]
        let kHead = merged ? ir.int(d) : k.strides[1], vHead = merged ? ir.int(dv) : v.strides[1]
        let ldk = merged ? k.strides[1] : k.strides[2], ldv = merged ? v.strides[1] : v.strides[2]
        var captures = [q.base, q.offset, q.strides[0], q.strides[1], k.base, k.offset, kBatch, kHead, ldk,
                        v.base, v.offset, vBatch, vHead, ldv, out.base, out.strides[0], out.strides[1], s, t]
        if let mask, let maskStrides { captures += [mask.base, mask.offset] + maskStrides }
        parallelFor(ir.mul(b, ir.int(heads)), scratchBytes: (scoresFloats + packFloats) * 4, capturing: captures) { task, c, scratch in
            let batch = ir.sdiv(task, ir.int(heads)), head = ir.srem(task, ir.int(heads))
            let (s, t) = (c[17], c[18])
            let qRows = ir.gep(ir.f32, c[0], ir.add(c[1], ir.add(ir.mul(batch, c[2]), ir.mul(head, ir.int(d)))))
            let kRows = ir.gep(ir.f32, c[4], ir.add(c[5], ir.add(ir.mul(batch, c[6]), ir.mul(head, c[7]))))
            let vRows = ir.gep(ir.f32, c[9], ir.add(c[10], ir.add(ir.mul(batch, c[11]), ir.mul(head, c[12]))))
            let oRows = ir.gep(ir.f32, c[14], ir.add(ir.mul(batch, c[15]), ir.mul(head, ir.int(dv))))
            let (lda, ldk, ldv, ldo) = (c[3], c[8], c[13], c[16])
            let scores = scratch
            let pack = ir.gep(ir.f32, scratch, ir.int(scoresFloats))
            let f32 = ir.f32
            // S = Q · Kᵀ: Kᵀ's columns are K's rows.
            let panelsT = ir.sdiv(ir.add(t, ir.int(width - 1)), ir.int(width))
            ir.loop(ir.int(0), panelsT) { p in
                let column = ir.mul(p, ir.int(width))
                let panel = ir.gep(f32, pack, ir.mul(p, ir.int(d * width)))
                packPanel(from: kRows, strideK: ir.int(1), strideN: ldk, k: ir.int(d), n: t, column: column, into: panel)
                let left = ir.sub(t, column)
                gemmRows(ir.int(0), s, k: ir.int(d), a: qRows, lda: lda, panel: panel, column: column,
                         cols: ir.select(ir.icmp(LLVMIntSLT, left, ir.int(width)), left, ir.int(width)), c: scores, ldc: t)
            }
            let maskValue = mask.map { LoweredValue(dtype: $0.dtype, base: c[19], offset: c[20], shape: [], strides: Array(c[21...]),
                                                    contiguous: false, layout: .unknown) }
            ir.loop(ir.int(0), s) { i in
                let row = ir.mul(i, t)
                let limit = ir.add(i, ir.sub(t, s))    // causal: keys j ≤ i + (t − s) are visible
                let maxSlot = local(f32)
                ir.store(ir.float(-.infinity), maxSlot)
                ir.loop(ir.int(0), t) { j in
                    let p = ir.gep(f32, scores, ir.add(row, j))
                    var value = ir.fmul(ir.load(f32, p), ir.float(Float(a.scale)))
                    if let maskValue { value = ir.fadd(value, load(maskValue, strides: maskValue.strides, [batch, head, i, j])) }
                    if a.causal { value = ir.select(ir.icmp(LLVMIntSGT, j, limit), ir.float(-.infinity), value) }
                    ir.store(value, p)
                    ir.store(ir.intrinsic("llvm.maximum", [ir.load(f32, maxSlot), value]), maxSlot)
                }
                var m = ir.load(f32, maxSlot)
                m = ir.select(ir.fcmp(LLVMRealOEQ, m, ir.float(-.infinity)), ir.float(0), m)
                let sumSlot = local(f32)
                ir.store(ir.float(0), sumSlot)
                ir.loop(ir.int(0), t) { j in
                    let p = ir.gep(f32, scores, ir.add(row, j))
                    let e = math.apply(math.exp, ir.fsub(ir.load(f32, p), m))
                    ir.store(e, p)
                    ir.store(ir.faddReassoc(ir.load(f32, sumSlot), e), sumSlot)
                }
                let scale = ir.fdiv(ir.float(1), ir.load(f32, sumSlot))
                ir.loop(ir.int(0), t) { j in
                    let p = ir.gep(f32, scores, ir.add(row, j))
                    ir.store(ir.fmul(ir.load(f32, p), scale), p)
                }
            }
            // O = P · V
            for p in 0..<PanelLayout.panels(dv) {
                let panel = ir.gep(f32, pack, ir.mul(ir.int(p * width), t))
                packPanel(from: vRows, strideK: ldv, strideN: ir.int(1), k: t, n: ir.int(dv), column: ir.int(p * width), into: panel)
                gemmRows(ir.int(0), s, k: t, a: scores, lda: t, panel: panel, column: ir.int(p * width),
                         cols: ir.int(min(width, dv - p * width)), c: oRows, ldc: ldo)
            }
        }
        return out
    }
}
