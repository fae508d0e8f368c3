import CLLVM
import Graph
import Tensors

/// Layer norm: the primitive (over the last `rank` dims, affine or not) and the fused
/// `LayerNorm(x + residual) · weight + bias` (contiguous rows as parallel tasks of 16 rows, any
/// other layout row by row). All three go through `row`.
struct LayerNormEmitter: KernelEmitter {
    let context: LoweringContext

    /// Rows per parallel task of the fused form.
    static let rowsPerTask = 16

    /// The primitive `layer_norm` over the last `rank` dims of contiguous `x`.
    func primitive(_ node: Graph.Node, _ x: LoweredValue, rank: Int, eps: Float,
                   weight: LoweredValue?, bias: LoweredValue?) -> LoweredValue {
        let out = output(node)
        let m = x.shape.suffix(rank).reduce(ir.int(1)) { ir.mul($0, $1) }
        let rows = x.shape.dropLast(rank).reduce(ir.int(1)) { ir.mul($0, $1) }
        let f32 = ir.f32
        ir.loop(ir.int(0), rows) { r in
            let start = ir.mul(r, m)
            func element(_ v: LoweredValue, _ i: LLVMValueRef) -> LLVMValueRef {
                ir.gep(f32, v.base, ir.add(v.offset, ir.add(start, i)))
            }
            func parameter(_ v: LoweredValue?) -> ((LLVMValueRef) -> LLVMValueRef)? {
                v.map { v in { i in ir.load(f32, ir.gep(f32, v.base, ir.add(v.offset, i))) } }
            }
            row(count: m, eps: eps, input: { ir.load(f32, element(x, $0)) }, staged: nil,
                weight: parameter(weight), bias: parameter(bias), output: { ir.gep(f32, out.base, ir.add(start, $0)) })
        }
        return out
    }

    /// The fused layer norm over the last dim, `x` optionally plus a residual.
    func fused(_ node: Graph.Node, _ eps: Float, _ x: [LoweredValue], _ types: [TensorType], residual hasResidual: Bool) -> LoweredValue {
        let out = output(node)
        let input = x[0]
        let residual = hasResidual ? x[1] : nil
        let flat = input.contiguous && types[0] == node.type && (residual.map { $0.contiguous && types[1] == node.type } ?? true)
        if flat {
            return parallelRows(out, eps, input, residual, weight: contiguous(x[hasResidual ? 2 : 1], types[hasResidual ? 2 : 1]),
                                bias: contiguous(x[hasResidual ? 3 : 2], types[hasResidual ? 3 : 2]))
        }
        let residualStrides = residual.map { broadcastStrides($0, types[1], to: node.type) }
        let inputStrides = broadcastStrides(input, types[0], to: node.type)
        let weight = contiguous(x[hasResidual ? 2 : 1], types[hasResidual ? 2 : 1])
        let bias = contiguous(x[hasResidual ? 3 : 2], types[hasResidual ? 3 : 2])
        let f32 = ir.f32
        ir.loops(Array(out.shape.dropLast())) { index in
            func at(_ j: LLVMValueRef) -> [LLVMValueRef] { index + [j] }
            row(count: out.shape.last!, eps: eps, input: { j in
                var v = load(input, strides: inputStrides, at(j))
                if let residual, let residualStrides { v = ir.fadd(v, load(residual, strides: residualStrides, at(j))) }
                return v
            }, staged: { address(out, at($0)) },
                weight: { ir.load(f32, ir.gep(f32, weight.base, ir.add(weight.offset, $0))) },
                bias: { ir.load(f32, ir.gep(f32, bias.base, ir.add(bias.offset, $0))) },
                output: { address(out, at($0)) })
        }
        return out
    }

    /// Contiguous rows (the common case) as parallel tasks of `rowsPerTask` rows each.
    private func parallelRows(_ out: LoweredValue, _ eps: Float, _ input: LoweredValue, _ residual: LoweredValue?,
                              weight: LoweredValue, bias: LoweredValue) -> LoweredValue {
        let n = out.shape.last!
        let rows = out.shape.dropLast().reduce(ir.int(1)) { ir.mul($0, $1) }
        let chunk = Self.rowsPerTask
        let captures: [LLVMValueRef] = [context.pointer(input), residual.map(context.pointer) ?? LLVMConstNull(ir.ptr)!,
                                        context.pointer(weight), context.pointer(bias), out.base, rows, n]
        parallelFor(context.chunks(rows, of: chunk), scratchBytes: 0, capturing: captures) { task, c, _ in
            let (x, r, w, b, y, rows, n) = (c[0], c[1], c[2], c[3], c[4], c[5], c[6])
            let f32 = ir.f32
            let (begin, end) = context.chunk(task, size: chunk, of: rows)
            ir.loop(begin, end) { row in
                let base = ir.mul(row, n)
                vectorRow(count: n, eps: eps, x: ir.gep(f32, x, base), residual: residual == nil ? nil : ir.gep(f32, r, base),
                          weight: w, bias: b, y: ir.gep(f32, y, base))
            }
        }
        return out
    }

    /// One contiguous row `y = LayerNorm(x [+ residual]) · weight + bias` in 16-float vectors (the
    /// last one masked), written out rather than left to LLVM's loop vectorizer: the memory plan often
    /// gives `y` the buffer of `x`, and the vectorizer's overlap check then chose its scalar loop (a
    /// serial `vaddss` chain: 6 % of int8 MiniLM). `y` may be `x` or `residual` exactly: each vector
    /// is read before it is written. With a residual, the sum is stored to `y` in the first pass and
    /// read from there after.
    private func vectorRow(count n: LLVMValueRef, eps: Float, x: LLVMValueRef, residual: LLVMValueRef?,
                           weight: LLVMValueRef, bias: LLVMValueRef, y: LLVMValueRef) {
        let lanes = 16, f32 = ir.f32
        let zero = LLVMConstNull(ir.floatVector(lanes))!
        let vectors = context.chunks(n, of: lanes)
        let source = residual == nil ? x : y
        /// The row's elements from vector `c` on (the last vector's mask).
        func left(_ c: LLVMValueRef) -> LLVMValueRef { ir.sub(n, ir.mul(c, ir.int(lanes))) }
        /// Vector `c` of the row at `p`, zero past the row's end.
        func load(_ p: LLVMValueRef, _ c: LLVMValueRef) -> LLVMValueRef {
            ir.maskedLoad(lanes, ir.gep(f32, p, ir.mul(c, ir.int(lanes))), count: left(c))
        }
        /// Stores `v` as vector `c` of `y`, nothing past the row's end.
        func store(_ v: LLVMValueRef, _ c: LLVMValueRef) { ir.maskedStore(v, ir.gep(f32, y, ir.mul(c, ir.int(lanes))), count: left(c)) }
        let (_, sum) = ir.carriedLoop(from: ir.int(0), end: vectors, unroll: 1, carrying: [zero]) { c, acc, _ in
            var v = load(x, c)
            if let residual {
                v = ir.fadd(v, load(residual, c))
                store(v, c)
            }
            return [ir.fadd(acc[0], v)]
        }
        let count = ir.sitofp(n)
        let meanVector = ir.splat(ir.fdiv(ir.sumLanes(sum[0]), count), lanes: lanes)
        let (_, squares) = ir.carriedLoop(from: ir.int(0), end: vectors, unroll: 1, carrying: [zero]) { c, acc, _ in
            let d = ir.select(ir.lanesBelow(left(c), lanes: lanes), ir.fsub(load(source, c), meanVector), zero)
            return [ir.fma(d, d, acc[0])]
        }
        let rstd = ir.fdiv(ir.float(1), ir.intrinsic("llvm.sqrt", [ir.fadd(ir.fdiv(ir.sumLanes(squares[0]), count), ir.float(eps))]))
        let rstdVector = ir.splat(rstd, lanes: lanes)
        ir.loop(ir.int(0), vectors) { c in
            let normalized = ir.fmul(ir.fsub(load(source, c), meanVector), rstdVector)
            store(ir.fma(normalized, load(weight, c), load(bias, c)), c)
        }
    }

    /// One row of `count` elements: the mean and variance of `input(j)`, then
    /// `output(j) = (x − mean) / sqrt(variance + eps) · weight(j) + bias(j)`. With `staged`, the
    /// first pass stores each input to `staged(j)` and the later passes read it from there (so a
    /// residual sum is computed once); otherwise `input` is evaluated in every pass.
    func row(count n: LLVMValueRef, eps: Float, input: (LLVMValueRef) -> LLVMValueRef,
             staged: ((LLVMValueRef) -> LLVMValueRef)?, weight: ((LLVMValueRef) -> LLVMValueRef)?,
             bias: ((LLVMValueRef) -> LLVMValueRef)?, output: (LLVMValueRef) -> LLVMValueRef) {
        let f32 = ir.f32
        func reread(_ j: LLVMValueRef) -> LLVMValueRef { staged.map { ir.load(f32, $0(j)) } ?? input(j) }
        let sumSlot = local(f32)
        ir.store(ir.float(0), sumSlot)
        ir.loop(ir.int(0), n) { j in
            let v = input(j)
            if let staged { ir.store(v, staged(j)) }
            ir.store(ir.faddReassoc(ir.load(f32, sumSlot), v), sumSlot)
        }
        let mean = ir.fdiv(ir.load(f32, sumSlot), ir.sitofp(n))
        let varSlot = local(f32)
        ir.store(ir.float(0), varSlot)
        ir.loop(ir.int(0), n) { j in
            let d = ir.fsub(reread(j), mean)
            ir.store(ir.faddReassoc(ir.load(f32, varSlot), ir.fmul(d, d)), varSlot)
        }
        let rstd = ir.fdiv(ir.float(1), ir.intrinsic("llvm.sqrt", [ir.fadd(ir.fdiv(ir.load(f32, varSlot), ir.sitofp(n)), ir.float(eps))]))
        ir.loop(ir.int(0), n) { j in
            var y = ir.fmul(ir.fsub(reread(j), mean), rstd)
            if let weight { y = ir.fmul(y, weight(j)) }
            if let bias { y = ir.fadd(y, bias(j)) }
            ir.store(y, output(j))
        }
    }
}
