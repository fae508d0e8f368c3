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

    /// `activation(x · w + bias) + residual`: one sgemm into the result, then one epilogue pass.
    func fusedLinear(_ node: Graph.Node, _ activation: FusedOp.Activation, _ x: [LoweredValue], _ types: [TensorType],
                     bias hasBias: Bool, residual hasResidual: Bool) -> LoweredValue {
        let input = contiguous(x[0], types[0])
        let weight = contiguous(x[1], types[1])
        let out = allocate(node.type)
        let k = input.shape[input.rank - 1], n = weight.shape[1]
        let rows = input.shape.dropLast().reduce(ir.int(1)) { ir.mul($0, $1) }
        gemm(m: rows, n: n, k: k, a: input.base, aOffset: input.offset, lda: k, transA: false,
             b: weight.base, bOffset: weight.offset, ldb: n, transB: false, c: out.base, cOffset: ir.int(0), ldc: n)
        let bias = hasBias ? contiguous(x[2], types[2]) : nil
        let residual = hasResidual ? x[hasBias ? 3 : 2] : nil
        let residualStrides = residual.map { broadcastStrides($0, types[hasBias ? 3 : 2], to: node.type) }
        guard bias != nil || residual != nil || activation != .none else { return out }
        ir.loops(out.shape) { indices in
            let target = address(out, indices)
            var y = ir.load(ir.f32, target)
            if let bias { y = ir.fadd(y, ir.load(ir.f32, ir.gep(ir.f32, bias.base, ir.add(bias.offset, indices.last!)))) }
            if let u = activation.unary { y = unary(u, y, dtype: .float32) }
            if let residual, let residualStrides { y = ir.fadd(y, load(residual, strides: residualStrides, indices)) }
            ir.store(y, target)
        }
        return out
    }

    /// `C = op(A) · op(B)` through cblas_sgemm on row-major operands (skipped when a dim is 0).
    func gemm(m: LLVMValueRef, n: LLVMValueRef, k: LLVMValueRef, alpha: Float = 1,
              a: LLVMValueRef, aOffset: LLVMValueRef, lda: LLVMValueRef, transA: Bool,
              b: LLVMValueRef, bOffset: LLVMValueRef, ldb: LLVMValueRef, transB: Bool,
              c: LLVMValueRef, cOffset: LLVMValueRef, ldc: LLVMValueRef) {
        let type = ir.functionType(ir.void, [ir.i32, ir.i32, ir.i32, ir.i32, ir.i32, ir.i32, ir.f32, ir.ptr, ir.i32,
                                             ir.ptr, ir.i32, ir.f32, ir.ptr, ir.i32])
        let function = ir.function("cblas_sgemm", type)
        func clampLD(_ v: LLVMValueRef) -> LLVMValueRef {
            ir.trunc(ir.select(ir.icmp(LLVMIntSGT, v, ir.int(1)), v, ir.int(1)), ir.i32)
        }
        let call = ir.block("sgemm"), skip = ir.block("sgemm_skip")
        let nonEmpty = ir.and(ir.icmp(LLVMIntSGT, ir.mul(m, n), ir.int(0)), ir.icmp(LLVMIntSGT, k, ir.int(0)))
        let zero = ir.block("sgemm_zero")
        ir.condBr(nonEmpty, call, zero)
        ir.position(at: zero)
        ir.loop(ir.int(0), m) { i in ir.loop(ir.int(0), n) { j in
            ir.store(ir.float(0), ir.gep(ir.f32, c, ir.add(cOffset, ir.add(ir.mul(i, ldc), j))))
        } }
        ir.br(skip)
        ir.position(at: call)
        ir.call(function, type, [ir.int32(101), ir.int32(transA ? 112 : 111), ir.int32(transB ? 112 : 111),
                                 ir.trunc(m, ir.i32), ir.trunc(n, ir.i32), ir.trunc(k, ir.i32), ir.float(alpha),
                                 ir.gep(ir.f32, a, aOffset), clampLD(lda), ir.gep(ir.f32, b, bOffset), clampLD(ldb),
                                 ir.float(0), ir.gep(ir.f32, c, cOffset), clampLD(ldc)])
        ir.br(skip)
        ir.position(at: skip)
    }

    // MARK: Layer norm

    /// `LayerNorm(x + residual) · weight + bias` over the last dim, one row at a time.
    func fusedLayerNorm(_ node: Graph.Node, _ eps: Float, _ x: [LoweredValue], _ types: [TensorType],
                        residual hasResidual: Bool) -> LoweredValue {
        let out = allocate(node.type)
        let input = x[0]
        let residual = hasResidual ? x[1] : nil
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

    // MARK: Attention

    /// Per (batch, head): S = Q·Kᵀ·scale (sgemm on strided head slices, no copies), mask and causal
    /// limit applied while the score block is in cache, softmax in place, then P·V written straight
    /// into the merged `[batch, seq, heads·dv]` result.
    func fusedAttention(_ node: Graph.Node, _ a: FusedOp.Attention, _ x: [LoweredValue], _ types: [TensorType]) throws -> LoweredValue {
        let q = contiguous(x[0], types[0]), k = contiguous(x[1], types[1]), v = contiguous(x[2], types[2])
        let out = allocate(node.type)
        let mask = a.masked ? x[3] : nil
        let b = q.shape[0], s = q.shape[1]
        let heads = a.heads
        guard let qWidth = types[0].shape.last?.constant, qWidth % heads == 0 else {
            throw CodegenError("fused_attention: the query width must be a constant multiple of \(heads) heads")
        }
        let d = qWidth / heads
        let outWidth = node.type.shape.last!.constant!
        let dv = outWidth / heads
        let t = a.kvLayout == .merged ? k.shape[1] : k.shape[2]
        // One score block, reused for every (batch, head): sized for the bounds.
        let maxS = types[0].shape[1].evaluate(Dictionary(uniqueKeysWithValues: graph.symbols.map { ($0.name, $0.max) })) ?? 1
        let maxT = (a.kvLayout == .merged ? types[1].shape[1] : types[1].shape[2]).evaluate(Dictionary(uniqueKeysWithValues: graph.symbols.map { ($0.name, $0.max) })) ?? 1
        let scores = allocate(TensorType(.float32, [SymbolicInt(max(1, maxS)), SymbolicInt(max(1, maxT))]))
        let maskType = a.masked ? types[3] : nil
        let maskStrides = mask.map { broadcastStrides($0, maskType!, to: TensorType(.float32, [types[0].shape[0], SymbolicInt(heads), types[0].shape[1], a.kvLayout == .merged ? types[1].shape[1] : types[1].shape[2]])) }
        ir.loops([b, ir.int(heads)]) { bh in
            let batch = bh[0], head = bh[1]
            // Q: [s, d] at q[batch, 0, head·d], leading dimension heads·d.
            let qOffset = ir.add(ir.mul(batch, q.strides[0]), ir.mul(head, ir.int(d)))
            let kOffset: LLVMValueRef, ldk: LLVMValueRef, vOffset: LLVMValueRef, ldv: LLVMValueRef
            if a.kvLayout == .merged {
                kOffset = ir.add(ir.mul(batch, k.strides[0]), ir.mul(head, ir.int(d)))
                ldk = k.strides[1]
                vOffset = ir.add(ir.mul(batch, v.strides[0]), ir.mul(head, ir.int(dv)))
                ldv = v.strides[1]
            } else {
                kOffset = ir.add(ir.mul(batch, k.strides[0]), ir.mul(head, k.strides[1]))
                ldk = k.strides[2]
                vOffset = ir.add(ir.mul(batch, v.strides[0]), ir.mul(head, v.strides[1]))
                ldv = v.strides[2]
            }
            gemm(m: s, n: t, k: ir.int(d), alpha: Float(a.scale), a: q.base, aOffset: ir.add(q.offset, qOffset), lda: q.strides[1], transA: false,
                 b: k.base, bOffset: ir.add(k.offset, kOffset), ldb: ldk, transB: true, c: scores.base, cOffset: ir.int(0), ldc: t)
            let f32 = ir.f32
            ir.loop(ir.int(0), s) { i in
                let row = ir.mul(i, t)
                let limit = ir.add(i, ir.sub(t, s))    // causal: keys j ≤ i + (t − s) are visible
                let maxSlot = local(f32)
                ir.store(ir.float(-.infinity), maxSlot)
                ir.loop(ir.int(0), t) { j in
                    let p = ir.gep(f32, scores.base, ir.add(row, j))
                    var value = ir.load(f32, p)
                    if let mask, let maskStrides { value = ir.fadd(value, load(mask, strides: maskStrides, [batch, head, i, j])) }
                    if a.causal { value = ir.select(ir.icmp(LLVMIntSGT, j, limit), ir.float(-.infinity), value) }
                    ir.store(value, p)
                    ir.store(ir.intrinsic("llvm.maximum", [ir.load(f32, maxSlot), value]), maxSlot)
                }
                var m = ir.load(f32, maxSlot)
                m = ir.select(ir.fcmp(LLVMRealOEQ, m, ir.float(-.infinity)), ir.float(0), m)
                let sumSlot = local(f32)
                ir.store(ir.float(0), sumSlot)
                ir.loop(ir.int(0), t) { j in
                    let p = ir.gep(f32, scores.base, ir.add(row, j))
                    let e = math.apply(math.exp, ir.fsub(ir.load(f32, p), m))
                    ir.store(e, p)
                    ir.store(ir.faddReassoc(ir.load(f32, sumSlot), e), sumSlot)
                }
                let scale = ir.fdiv(ir.float(1), ir.load(f32, sumSlot))
                ir.loop(ir.int(0), t) { j in
                    let p = ir.gep(f32, scores.base, ir.add(row, j))
                    ir.store(ir.fmul(ir.load(f32, p), scale), p)
                }
            }
            // O[batch, :, head·dv …] = P · V
            let oOffset = ir.add(ir.mul(batch, out.strides[0]), ir.mul(head, ir.int(dv)))
            gemm(m: s, n: ir.int(dv), k: t, a: scores.base, aOffset: ir.int(0), lda: t, transA: false,
                 b: v.base, bOffset: ir.add(v.offset, vOffset), ldb: ldv, transB: false,
                 c: out.base, cOffset: oOffset, ldc: out.strides[1])
        }
        return out
    }
}
