import CLLVM
import Graph
import Tensors

/// The fused attention kernel of one precision (`fused_attention`, docs/passes.md). Another precision
/// is another conforming type, chosen in `KernelSet`.
protocol AttentionEmitter: KernelEmitter {
    /// `q`, `k`, `v` (and the additive mask when `attributes.masked`) are `x[0...]`.
    func attention(_ node: Graph.Node, _ attributes: FusedOp.Attention, _ x: [LoweredValue], _ types: [TensorType]) throws -> LoweredValue
}

/// f32 attention, one task per (batch, head): S = Q·Kᵀ (tiled GEMM over Kᵀ packed into the task's
/// scratch), scale, mask and causal limit applied while the score block is in cache, softmax in
/// place (`SoftmaxEmitter.row`), then P·V (V packed per panel) written straight into the merged
/// `[batch, seq, heads·dv]` result. Where queries and keys may differ in number, up to `directRows`
/// queries (decoding: one new token against its cache) skip the packing: each score is a dot product
/// of two contiguous rows and each output row a sum of V's rows, both read once, where packing Kᵀ
/// alone read K column by column. With fewer
/// key/value heads than query heads (grouped-query attention) each task reads its group's K and V.
struct F32AttentionEmitter: AttentionEmitter {
    let context: LoweringContext
    /// Queries up to which the direct path runs.
    static let directRows = 4

    /// `value` itself when its last dim is contiguous (stride the constant 1), else a contiguous copy.
    private func rowsContiguous(_ value: LoweredValue, _ type: TensorType) -> LoweredValue {
        guard let last = value.strides.last, LLVMIsAConstantInt(last) != nil, LLVMConstIntGetSExtValue(last) == 1 else {
            return contiguous(value, type)
        }
        return value
    }

    func attention(_ node: Graph.Node, _ a: FusedOp.Attention, _ x: [LoweredValue], _ types: [TensorType]) throws -> LoweredValue {
        // K and V are read row by row through their strides: a view whose rows are contiguous (a
        // position-major KV cache seen head-major) is used in place, anything else copied.
        let q = contiguous(x[0], types[0]), k = rowsContiguous(x[1], types[1]), v = rowsContiguous(x[2], types[2])
        let out = output(node)
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
        let sameLength = types[0].shape[1] == tType
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
        let tiles = TiledGEMM(context: context), softmax = SoftmaxEmitter(context: context)
        parallelFor(ir.mul(b, ir.int(heads)), scratchBytes: (scoresFloats + packFloats) * 4, capturing: captures) { task, c, scratch in
            let batch = ir.sdiv(task, ir.int(heads)), head = ir.srem(task, ir.int(heads))
            let (s, t) = (c[17], c[18])
            let qRows = ir.gep(ir.f32, c[0], ir.add(c[1], ir.add(ir.mul(batch, c[2]), ir.mul(head, ir.int(d)))))
            // Grouped-query attention: query head `head` reads key/value head `head / groupSize`.
            let kvHead = a.groupSize > 1 ? ir.sdiv(head, ir.int(a.groupSize)) : head
            let kRows = ir.gep(ir.f32, c[4], ir.add(c[5], ir.add(ir.mul(batch, c[6]), ir.mul(kvHead, c[7]))))
            let vRows = ir.gep(ir.f32, c[9], ir.add(c[10], ir.add(ir.mul(batch, c[11]), ir.mul(kvHead, c[12]))))
            let oRows = ir.gep(ir.f32, c[14], ir.add(ir.mul(batch, c[15]), ir.mul(head, ir.int(dv))))
            let (lda, ldk, ldv, ldo) = (c[3], c[8], c[13], c[16])
            let scores = scratch
            let pack = ir.gep(ir.f32, scratch, ir.int(scoresFloats))
            let f32 = ir.f32
            // As many queries as keys (an encoder's self-attention, a prefill): the direct path would serve
            // only inputs of at most `directRows` tokens. It is branched over (and removed by LLVM's first
            // pass): MiniLM's compile spends 36 ms less CPU, and a 3-token input takes 0.05 ms more
            // (0.82–0.98 → 0.89–1.05 ms, 2026-12-04, AMD EPYC).
            let direct = sameLength ? ir.bool(false) : ir.icmp(LLVMIntSLE, s, ir.int(Self.directRows))
            let directBlock = ir.block("attention_direct"), tiledBlock = ir.block("attention_tiled"), scored = ir.block("attention_scored")
            ir.condBr(direct, directBlock, tiledBlock)
            // Few queries: S = Q · Kᵀ as dot products of Q's and K's rows (both contiguous in d).
            ir.position(at: directBlock)
            let sum = ir.localInEntry(f32)
            ir.loop(ir.int(0), s) { i in
                let qRow = ir.gep(f32, qRows, ir.mul(i, lda))
                ir.loop(ir.int(0), t) { j in
                    let kRow = ir.gep(f32, kRows, ir.mul(j, ldk))
                    ir.store(ir.float(0), sum)
                    ir.loop(ir.int(0), ir.int(d)) { e in
                        let product = ir.fmul(ir.load(f32, ir.gep(f32, qRow, e)), ir.load(f32, ir.gep(f32, kRow, e)))
                        ir.store(ir.faddReassoc(ir.load(f32, sum), product), sum)
                    }
                    ir.store(ir.load(f32, sum), ir.gep(f32, scores, ir.add(ir.mul(i, t), j)))
                }
            }
            ir.br(scored)
            // S = Q · Kᵀ: Kᵀ's columns are K's rows.
            ir.position(at: tiledBlock)
            let panelsT = context.chunks(t, of: width)
            ir.loop(ir.int(0), panelsT) { p in
                let column = ir.mul(p, ir.int(width))
                let panel = ir.gep(f32, pack, ir.mul(p, ir.int(d * width)))
                tiles.packPanel(from: kRows, strideK: ir.int(1), strideN: ldk, k: ir.int(d), n: t, column: column, into: panel)
                let left = ir.sub(t, column)
                tiles.gemmRows(ir.int(0), s, k: ir.int(d), a: qRows, lda: lda, panel: panel, column: column,
                               cols: context.minimum(left, ir.int(width)), c: scores, ldc: t)
            }
            ir.br(scored)
            ir.position(at: scored)
            let maskValue = mask.map { LoweredValue(dtype: $0.dtype, base: c[19], offset: c[20], shape: [], strides: Array(c[21...]),
                                                    contiguous: false, layout: .unknown) }
            ir.loop(ir.int(0), s) { i in
                let row = ir.mul(i, t)
                let limit = ir.add(i, ir.sub(t, s))    // causal: keys j ≤ i + (t − s) are visible
                let score = { (j: LLVMValueRef) in ir.gep(f32, scores, ir.add(row, j)) }
                softmax.row(count: t, logit: { j in
                    var value = ir.fmul(ir.load(f32, score(j)), ir.float(Float(a.scale)))
                    if let maskValue { value = ir.fadd(value, load(maskValue, strides: maskValue.strides, [batch, head, i, j])) }
                    if a.causal { value = ir.select(ir.icmp(LLVMIntSGT, j, limit), ir.float(-.infinity), value) }
                    return value
                }, output: score, staged: true)
            }
            // O = P · V
            let directOut = ir.block("attention_direct_out"), tiledOut = ir.block("attention_tiled_out"), done = ir.block("attention_done")
            ir.condBr(direct, directOut, tiledOut)
            // Few queries: each output row a weighted sum of V's rows (contiguous in dv).
            ir.position(at: directOut)
            ir.loop(ir.int(0), s) { i in
                let oRow = ir.gep(f32, oRows, ir.mul(i, ldo))
                ir.loop(ir.int(0), ir.int(dv)) { e in ir.store(ir.float(0), ir.gep(f32, oRow, e)) }
                ir.loop(ir.int(0), t) { j in
                    let weight = ir.load(f32, ir.gep(f32, scores, ir.add(ir.mul(i, t), j)))
                    let vRow = ir.gep(f32, vRows, ir.mul(j, ldv))
                    ir.loop(ir.int(0), ir.int(dv)) { e in
                        let target = ir.gep(f32, oRow, e)
                        ir.store(ir.fma(weight, ir.load(f32, ir.gep(f32, vRow, e)), ir.load(f32, target)), target)
                    }
                }
            }
            ir.br(done)
            ir.position(at: tiledOut)
            for p in 0..<PanelLayout.panels(dv) {
                let panel = ir.gep(f32, pack, ir.mul(ir.int(p * width), t))
                tiles.packPanel(from: vRows, strideK: ldv, strideN: ir.int(1), k: t, n: ir.int(dv), column: ir.int(p * width), into: panel)
                tiles.gemmRows(ir.int(0), s, k: t, a: scores, lda: t, panel: panel, column: ir.int(p * width),
                               cols: ir.int(min(width, dv - p * width)), c: oRows, ldc: ldo)
            }
            ir.br(done)
            ir.position(at: done)
        }
        return out
    }
}
