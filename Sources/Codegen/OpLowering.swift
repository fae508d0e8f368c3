import CLLVM
import Graph
import Tensors

/// Lowering of each primitive op.
extension GraphLowering {
    func lower(_ node: Graph.Node, _ op: TensorOp, _ x: [LoweredValue]) throws -> LoweredValue {
        let inTypes = node.inputs.map { graph.node($0)!.type }
        switch op {
        case .unary(let u):
            let dtype = x[0].dtype
            return elementwise(node, x) { unary(u, $0[0], dtype: dtype) }
        case .binary(let b):
            let dtype = x[0].dtype
            return elementwise(node, x) { binary(b, $0[0], $0[1], dtype: dtype) }
        case .binaryScalar(let b, let s, let scalarFirst):
            let dtype = x[0].dtype
            let integral = s.rounded() == s && Swift.abs(s) < 9e15
            let computeType: DType = dtype.isInteger && (!integral || b == .div || b == .pow) ? .float32 : dtype
            let c = constant(s, computeType)
            return elementwise(node, x) { v in
                let a = cast(v[0], from: dtype, to: computeType)
                return scalarFirst ? binary(b, c, a, dtype: computeType) : binary(b, a, c, dtype: computeType)
            }
        case .select:
            return elementwise(node, x) { v in ir.select(ir.icmp(LLVMIntNE, v[0], ir.byte(0)), v[1], v[2]) }
        case .cast(let to):
            let from = x[0].dtype
            return elementwise(node, x) { cast($0[0], from: from, to: to) }
        case .contiguous:
            return contiguous(x[0], node.type)
        case .fill(let value, _, let dtype):
            let out = allocate(node.type)
            let c = constant(value, dtype)
            ir.loops(out.shape) { ir.store(c, address(out, $0)) }
            return out
        case .arange(_, _, let step, let dtype):
            guard case .primitive(_, let ints) = node.op else { throw CodegenError("arange without bounds") }
            let out = allocate(node.type)
            let first = value(of: ints[0])
            ir.loop(ir.int(0), out.shape[0]) { i in
                let v = ir.add(first, ir.mul(i, ir.int(step)))
                let converted: LLVMValueRef = switch dtype {
                case .float32: ir.sitofp(v)
                case .int64: v
                case .int32: ir.trunc(v, ir.i32)
                case .bool: boolByte(ir.icmp(LLVMIntNE, v, ir.int(0)))
                }
                ir.store(converted, address(out, [i]))
            }
            return out
        case .reshape:
            let source = contiguous(x[0], inTypes[0])
            let shape = node.type.shape.map(value(of:))
            return LoweredValue(dtype: source.dtype, base: source.base, offset: source.offset, shape: shape,
                                strides: contiguousStrides(shape), contiguous: true, layout: .rowMajor)
        case .permute(let perm):
            var v = x[0]
            v.shape = perm.map { x[0].shape[$0] }
            v.strides = perm.map { x[0].strides[$0] }
            v.contiguous = perm == Array(0..<perm.count) && x[0].contiguous
            v.layout = permutedLayout(x[0], perm)
            return v
        case .expand:
            var v = x[0]
            v.shape = node.type.shape.map(value(of:))
            v.strides = broadcastStrides(x[0], inTypes[0], to: node.type)
            let lead = node.type.shape.count - inTypes[0].shape.count
            let matrixUnchanged = node.type.shape.count >= 2 && inTypes[0].shape.count >= 2
                && node.type.shape.suffix(2) == inTypes[0].shape.suffix(2)
            v.contiguous = lead == 0 && node.type.shape == inTypes[0].shape && x[0].contiguous
            v.layout = matrixUnchanged ? x[0].layout : .unknown
            return v
        case .slice(let dim, _, _, let step):
            guard case .primitive(_, let ints) = node.op else { throw CodegenError("slice without bounds") }
            var v = x[0]
            v.offset = ir.add(v.offset, ir.mul(value(of: ints[0]), v.strides[dim]))
            v.shape[dim] = value(of: node.type.shape[dim])
            v.strides[dim] = ir.mul(v.strides[dim], ir.int(step))
            v.contiguous = x[0].contiguous && (0..<dim).allSatisfy { inTypes[0].shape[$0] == 1 } && step == 1
            let r = v.rank
            if step != 1 && r >= 2 && ((x[0].layout == .rowMajor && dim == r - 1) || (x[0].layout == .columnMajor && dim == r - 2)) {
                v.layout = .unknown
            }
            return v
        case .concat(let dim):
            let out = allocate(node.type)
            var start: LLVMValueRef = ir.int(0)
            for input in x {
                var view = out
                view.offset = ir.mul(start, out.strides[dim])
                view.shape = input.shape
                copy(input, into: view)
                start = ir.add(start, input.shape[dim])
            }
            return out
        case .reduce(let r, let dims, _):
            return reduce(node, r, dims, x[0])
        case .softmax(let dim), .logSoftmax(let dim):
            var isLog = false
            if case .logSoftmax = op { isLog = true }
            return softmax(node, x[0], dim: dim, log: isLog)
        case .layerNorm(let rank, let eps, let affine):
            let input = contiguous(x[0], inTypes[0])
            return layerNorm(node, input, rank: rank, eps: Float(eps), weight: affine ? contiguous(x[1], inTypes[1]) : nil,
                             bias: affine ? contiguous(x[2], inTypes[2]) : nil)
        case .matmul:
            return matmul(node, x[0], inTypes[0], x[1], inTypes[1])
        case .indexSelect(let dim):
            return indexSelect(node, x[0], x[1], dim: dim)
        case .gather(let dim):
            return gather(node, x[0], x[1], dim: dim)
        }
    }

    /// The matrix layout after permuting dims.
    func permutedLayout(_ v: LoweredValue, _ perm: [Int]) -> LoweredValue.MatrixLayout {
        let r = perm.count
        guard r >= 2 else { return .unknown }
        let unitDim: Int
        switch v.layout {
        case .rowMajor: unitDim = r - 1
        case .columnMajor: unitDim = r - 2
        case .unknown: return .unknown
        }
        if perm[r - 1] == unitDim { return .rowMajor }
        if perm[r - 2] == unitDim { return .columnMajor }
        return .unknown
    }

    // MARK: Reductions

    func reduce(_ node: Graph.Node, _ op: ReduceOp, _ dims: [Int], _ x: LoweredValue) -> LoweredValue {
        let out = allocate(node.type)
        let kept = (0..<x.rank).filter { !dims.contains($0) }
        let isArg = op == .argmax || op == .argmin
        let count = dims.reduce(ir.int(1)) { ir.mul($0, x.shape[$1]) }
        ir.loops(kept.map { x.shape[$0] }) { keptIndices in
            let acc = local(ir.f32)
            let best = local(ir.i64)
            let initial: Float = switch op { case .sum, .mean: 0; case .max, .argmax: -.infinity; case .min, .argmin: .infinity }
            ir.store(ir.float(initial), acc)
            ir.store(ir.int(0), best)
            let linear = local(ir.i64)
            ir.store(ir.int(0), linear)
            ir.loops(dims.map { x.shape[$0] }) { reducedIndices in
                var full = [LLVMValueRef](repeating: ir.int(0), count: x.rank)
                for (k, d) in kept.enumerated() { full[d] = keptIndices[k] }
                for (k, d) in dims.enumerated() { full[d] = reducedIndices[k] }
                let v = toFloat(ir.load(x.dtype.llvmType(ir), address(x, full)), from: x.dtype)
                let a = ir.load(ir.f32, acc)
                switch op {
                case .sum, .mean:
                    ir.store(ir.faddReassoc(a, v), acc)
                case .max, .min:
                    // llvm.maximum/minimum propagate NaN, as torch.amax does, and vectorize as reductions.
                    ir.store(ir.intrinsic(op == .max ? "llvm.maximum" : "llvm.minimum", [a, v]), acc)
                case .argmax, .argmin:
                    let better = ir.fcmp(op == .argmax ? LLVMRealOGT : LLVMRealOLT, v, a)
                    let nanFirst = ir.and(ir.fcmp(LLVMRealUNO, v, v), ir.fcmp(LLVMRealORD, a, a))
                    let take = ir.or(better, nanFirst)
                    let index = ir.load(ir.i64, linear)
                    ir.store(ir.select(take, v, a), acc)
                    ir.store(ir.select(take, index, ir.load(ir.i64, best)), best)
                }
                ir.store(ir.add(ir.load(ir.i64, linear), ir.int(1)), linear)
            }
            var outIndices: [LLVMValueRef] = []
            var k = 0
            for d in 0..<x.rank {
                if dims.contains(d) { if out.rank == x.rank { outIndices.append(ir.int(0)) } } else { outIndices.append(keptIndices[k]); k += 1 }
            }
            var result: LLVMValueRef
            if isArg { result = ir.load(ir.i64, best) }
            else {
                result = ir.load(ir.f32, acc)
                if op == .mean { result = ir.fdiv(result, ir.sitofp(count)) }
                result = cast(result, from: .float32, to: node.type.dtype)
            }
            ir.store(result, address(out, outIndices))
        }
        return out
    }

    // MARK: Softmax and layer norm

    func softmax(_ node: Graph.Node, _ x: LoweredValue, dim: Int, log: Bool) -> LoweredValue {
        let out = allocate(node.type)
        let others = (0..<x.rank).filter { $0 != dim }
        let n = x.shape[dim]
        ir.loops(others.map { x.shape[$0] }) { outer in
            func at(_ v: LoweredValue, _ i: LLVMValueRef) -> LLVMValueRef {
                var full = [LLVMValueRef](repeating: ir.int(0), count: v.rank)
                for (k, d) in others.enumerated() { full[d] = outer[k] }
                full[dim] = i
                return address(v, full)
            }
            let maxSlot = local(ir.f32)
            ir.store(ir.float(-.infinity), maxSlot)
            ir.loop(ir.int(0), n) { i in
                ir.store(ir.intrinsic("llvm.maximum", [ir.load(ir.f32, maxSlot), ir.load(ir.f32, at(x, i))]), maxSlot)
            }
            var m = ir.load(ir.f32, maxSlot)
            m = ir.select(ir.fcmp(LLVMRealOEQ, m, ir.float(-.infinity)), ir.float(0), m)
            let sumSlot = local(ir.f32)
            ir.store(ir.float(0), sumSlot)
            ir.loop(ir.int(0), n) { i in
                let e = math.apply(math.exp, ir.fsub(ir.load(ir.f32, at(x, i)), m))
                ir.store(e, at(out, i))
                ir.store(ir.faddReassoc(ir.load(ir.f32, sumSlot), e), sumSlot)
            }
            let sum = ir.load(ir.f32, sumSlot)
            if log {
                let shift = ir.fadd(m, ir.intrinsic("llvm.log", [sum]))
                ir.loop(ir.int(0), n) { i in ir.store(ir.fsub(ir.load(ir.f32, at(x, i)), shift), at(out, i)) }
            } else {
                let scale = ir.fdiv(ir.float(1), sum)
                ir.loop(ir.int(0), n) { i in ir.store(ir.fmul(ir.load(ir.f32, at(out, i)), scale), at(out, i)) }
            }
        }
        return out
    }

    func layerNorm(_ node: Graph.Node, _ x: LoweredValue, rank: Int, eps: Float,
                   weight: LoweredValue?, bias: LoweredValue?) -> LoweredValue {
        let out = allocate(node.type)
        let m = x.shape.suffix(rank).reduce(ir.int(1)) { ir.mul($0, $1) }
        let rows = x.shape.dropLast(rank).reduce(ir.int(1)) { ir.mul($0, $1) }
        let f32 = ir.f32
        ir.loop(ir.int(0), rows) { r in
            let start = ir.mul(r, m)
            func element(_ v: LoweredValue, _ i: LLVMValueRef) -> LLVMValueRef {
                ir.gep(f32, v.base, ir.add(v.offset, ir.add(start, i)))
            }
            let sumSlot = local(f32)
            ir.store(ir.float(0), sumSlot)
            ir.loop(ir.int(0), m) { i in ir.store(ir.faddReassoc(ir.load(f32, sumSlot), ir.load(f32, element(x, i))), sumSlot) }
            let mean = ir.fdiv(ir.load(f32, sumSlot), ir.sitofp(m))
            let varSlot = local(f32)
            ir.store(ir.float(0), varSlot)
            ir.loop(ir.int(0), m) { i in
                let d = ir.fsub(ir.load(f32, element(x, i)), mean)
                ir.store(ir.faddReassoc(ir.load(f32, varSlot), ir.fmul(d, d)), varSlot)
            }
            let variance = ir.fdiv(ir.load(f32, varSlot), ir.sitofp(m))
            let rstd = ir.fdiv(ir.float(1), ir.intrinsic("llvm.sqrt", [ir.fadd(variance, ir.float(eps))]))
            ir.loop(ir.int(0), m) { i in
                var y = ir.fmul(ir.fsub(ir.load(f32, element(x, i)), mean), rstd)
                if let weight { y = ir.fmul(y, ir.load(f32, ir.gep(f32, weight.base, ir.add(weight.offset, i)))) }
                if let bias { y = ir.fadd(y, ir.load(f32, ir.gep(f32, bias.base, ir.add(bias.offset, i)))) }
                ir.store(y, ir.gep(f32, out.base, ir.add(start, i)))
            }
        }
        return out
    }

    // MARK: Matrix products

    /// Batched `A · B` with broadcasting over the batch dims, as tiled GEMM tasks (`TiledGEMM`): one
    /// per (batch matrix, 64-row chunk, 32-column panel). A is read row-major (a copy is made
    /// otherwise); B is packed per panel from whatever strides it has, so a transposed operand costs
    /// no extra pass.
    func matmul(_ node: Graph.Node, _ a0: LoweredValue, _ aType: TensorType, _ b: LoweredValue, _ bType: TensorType) -> LoweredValue {
        let a = a0.layout == .rowMajor ? a0 : contiguous(a0, aType)
        let out = allocate(node.type)
        let ra = a.rank, rb = b.rank, ro = out.rank
        let m = a.shape[ra - 2], k = a.shape[ra - 1], n = b.shape[rb - 1]
        let batchDims = Array(node.type.shape.dropLast(2))
        let aBatch = Array(broadcastStrides(a, aType, to: TensorType(.float32, batchDims + Array(aType.shape.suffix(2)))).dropLast(2))
        let bBatch = Array(broadcastStrides(b, bType, to: TensorType(.float32, batchDims + Array(bType.shape.suffix(2)))).dropLast(2))
        let batchShape = Array(out.shape.dropLast(2))
        let matrices = batchShape.reduce(ir.int(1)) { ir.mul($0, $1) }
        let chunk = 64, width = PanelLayout.width
        let panels = ir.sdiv(ir.add(n, ir.int(width - 1)), ir.int(width))
        let chunks = ir.sdiv(ir.add(m, ir.int(chunk - 1)), ir.int(chunk))
        let kBound = aType.shape[ra - 1].evaluate(maxBindings) ?? 0
        let nb = batchShape.count
        let captures = [a.base, a.offset, a.strides[ra - 2], b.base, b.offset, b.strides[rb - 2], b.strides[rb - 1],
                        out.base, out.strides[ro - 2], m, n, k, panels, chunks]
            + batchShape + aBatch + bBatch + Array(out.strides.prefix(nb))
        let tasks = ir.mul(matrices, ir.mul(chunks, panels))
        parallelFor(tasks, scratchBytes: max(1, kBound) * width * 4, capturing: captures) { task, c, scratch in
            let (aBase, aOffset, lda, bBase, bOffset, strideK, strideN) = (c[0], c[1], c[2], c[3], c[4], c[5], c[6])
            let (oBase, ldo, m, n, k, panels, chunks) = (c[7], c[8], c[9], c[10], c[11], c[12], c[13])
            let shape = Array(c[14..<(14 + nb)]), aS = Array(c[(14 + nb)..<(14 + 2 * nb)])
            let bS = Array(c[(14 + 2 * nb)..<(14 + 3 * nb)]), oS = Array(c[(14 + 3 * nb)..<(14 + 4 * nb)])
            let p = ir.srem(task, panels)
            let rest = ir.sdiv(task, panels)
            let chunkIndex = ir.srem(rest, chunks)
            var matrix = ir.sdiv(rest, chunks)
            var oa = aOffset, ob = bOffset, oc = ir.int(0)
            for d in stride(from: nb - 1, through: 0, by: -1) {
                let i = ir.srem(matrix, shape[d])
                matrix = ir.sdiv(matrix, shape[d])
                oa = ir.add(oa, ir.mul(i, aS[d]))
                ob = ir.add(ob, ir.mul(i, bS[d]))
                oc = ir.add(oc, ir.mul(i, oS[d]))
            }
            let begin = ir.mul(chunkIndex, ir.int(chunk))
            let end = ir.select(ir.icmp(LLVMIntSLT, ir.add(begin, ir.int(chunk)), m), ir.add(begin, ir.int(chunk)), m)
            let column = ir.mul(p, ir.int(width))
            let left = ir.sub(n, column)
            packPanel(from: ir.gep(ir.f32, bBase, ob), strideK: strideK, strideN: strideN, k: k, n: n, column: column, into: scratch)
            gemmRows(begin, end, k: k, a: ir.gep(ir.f32, aBase, oa), lda: lda, panel: scratch, column: column,
                     cols: ir.select(ir.icmp(LLVMIntSLT, left, ir.int(width)), left, ir.int(width)),
                     c: ir.gep(ir.f32, oBase, oc), ldc: ldo)
        }
        return out
    }

    // MARK: Indexing

    /// Loads an index as i64 and branches to the error exit when it is outside `0..<size`.
    func checkedIndex(_ index: LoweredValue, _ indices: [LLVMValueRef], size: LLVMValueRef) -> LLVMValueRef {
        var id = ir.load(index.dtype.llvmType(ir), address(index, indices))
        if index.dtype == .int32 { id = ir.sext(id, ir.i64) }
        let bad = ir.or(ir.icmp(LLVMIntSLT, id, ir.int(0)), ir.icmp(LLVMIntSGE, id, size))
        let ok = ir.block("index_ok")
        ir.condBr(bad, errorBlockRef, ok)
        ir.position(at: ok)
        return id
    }

    func indexSelect(_ node: Graph.Node, _ x: LoweredValue, _ index: LoweredValue, dim: Int) -> LoweredValue {
        let out = allocate(node.type)
        let prefix = Array(x.shape[..<dim]), suffix = Array(x.shape[(dim + 1)...])
        ir.loops(prefix + index.shape + suffix) { all in
            let p = Array(all[..<prefix.count])
            let ids = Array(all[prefix.count..<(prefix.count + index.rank)])
            let s = Array(all[(prefix.count + index.rank)...])
            let id = checkedIndex(index, ids, size: x.shape[dim])
            let v = ir.load(x.dtype.llvmType(ir), address(x, p + [id] + s))
            ir.store(v, address(out, all))
        }
        return out
    }

    func gather(_ node: Graph.Node, _ x: LoweredValue, _ index: LoweredValue, dim: Int) -> LoweredValue {
        let out = allocate(node.type)
        ir.loops(index.shape) { indices in
            let id = checkedIndex(index, indices, size: x.shape[dim])
            var source = indices
            source[dim] = id
            ir.store(ir.load(x.dtype.llvmType(ir), address(x, source)), address(out, indices))
        }
        return out
    }
}
