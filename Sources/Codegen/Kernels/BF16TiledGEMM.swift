import CLLVM
import Graph
import Tensors

/// The bf16 GEMM microkernel (`vdpbf16ps`, AVX512-BF16) and its helpers: rounding rows of A to
/// bf16 pairs, and packing a strided f32 matrix into a bf16 panel at run time.
///
/// Operands are bf16 *pairs*: element `p` of a row of A is one int32 holding `A[i][2p]` (low half)
/// and `A[i][2p + 1]` (high half); row `p` of a panel (`PanelLayout.Format.bf16`) holds those two
/// rows of B for 32 columns. `vdpbf16ps acc, a, b` adds `a[2j]·b[2j] + a[2j+1]·b[2j+1]` to f32 lane
/// `j`, so broadcasting one pair of A against a panel row advances 16 columns by two `k` steps.
/// Accumulation, the stored tile and every epilogue stay f32.
struct BF16TiledGEMM: KernelEmitter {
    let context: LoweringContext
    /// Rows per tile: 2 accumulators each, so 8 rows keep 16 of the 32 zmm registers accumulating
    /// (`vdpbf16ps` has a latency of about 6 cycles; 16 independent chains cover it twice). Measured
    /// on one Zen 4 core at 128 × 384 × 1536: 6 and 8 rows 205 GFLOP/s, 12 rows 163, 14 rows 184.
    static let rows = 8

    /// `<32 x bfloat>`, the operand type of the bf16 intrinsics.
    private var bf16Vector: LLVMTypeRef { LLVMVectorType(LLVMBFloatTypeInContext(ir.context), 32) }

    /// The microkernel as `TiledGEMM.gemmRows` calls it (`k` counted in pairs).
    var microkernel: TiledGEMM.Microkernel { TiledGEMM.Microkernel(rows: Self.rows, aElement: ir.i32, tile: tileFunction) }

    /// `NAME.bf16tile<mr>(a, lda, panel, pairs, c, ldc, cols)`: `C[0..<mr, 0..<cols] = A · panel` with
    /// A's rows of `pairs` bf16 pairs at stride `lda` (pairs) and C's at `ldc` (floats).
    func tileFunction(rows mr: Int) -> LLVMValueRef {
        TiledGEMM.tile(ir, named: "\(context.kernelName).bf16tile\(mr)") { a, lda, panel, pairs, c, ldc, cols in
            let lanes = 16, vector = ir.floatVector(lanes)
            let rowsA = (0..<mr).map { ir.gep(ir.i32, a, ir.mul(ir.int($0), lda)) }
            // Few rows leave few independent accumulators to cover `vdpbf16ps`'s latency (one row: two), so
            // their k steps rotate over `chains` sets of accumulators, summed at the end.
            let chains = max(1, min(4, 8 / mr))
            /// One pair step on accumulator set `chain`: two panel vectors (32 columns × 2 rows of B), one
            /// broadcast pair of A per row, 2·mr `vdpbf16ps`.
            func step(_ kk: LLVMValueRef, _ accumulators: [LLVMValueRef], chain: Int) -> [LLVMValueRef] {
                let row = ir.gep(ir.i32, panel, ir.mul(kk, ir.int(PanelLayout.width)))
                let b = TiledGEMM.panelRow(ir, row, as: bf16Vector)
                var next = accumulators
                for r in 0..<mr {
                    let pair = ir.load(ir.i32, ir.gep(ir.i32, rowsA[r], kk))
                    let x = ir.bitcast(ir.splat(pair, lanes: lanes), bf16Vector)
                    for v in 0..<2 {
                        let i = chain * 2 * mr + 2 * r + v
                        next[i] = ir.overloaded("llvm.x86.avx512bf16.dpbf16ps.512", [], [accumulators[i], x, b[v]])
                    }
                }
                return next
        }
        let zero = LLVMConstNull(vector)!
        let (kMain, partial) = ir.carriedLoop(from: ir.int(0), end: pairs, unroll: 4, carrying: Array(repeating: zero, count: 2 * mr * chains)) {
            step($0, $1, chain: $2 % chains)
        }
        let (_, sets) = ir.carriedLoop(from: kMain, end: pairs, unroll: 1, carrying: partial) { step($0, $1, chain: $2 % chains) }
        let accumulators = (0..<(2 * mr)).map { i in (1..<chains).reduce(sets[i]) { ir.fadd($0, sets[$1 * 2 * mr + i]) } }
        TiledGEMM.storeTile(ir, accumulators, c: c, ldc: ldc, cols: cols)
        }
    }

    /// `x` (f32) rounded to bf16 as torch rounds (nearest, ties to even; a NaN stays a quiet NaN),
    /// as an i32 holding the 16 bits. Integer ops, so the loops around it vectorize.
    func bfloat16Bits(_ x: LLVMValueRef) -> LLVMValueRef {
        let bits = ir.bitcast(x, ir.i32)
        let high = LLVMBuildLShr(ir.builder, bits, ir.int32(16), "")!
        let rounded = LLVMBuildLShr(ir.builder, ir.add(ir.add(bits, ir.int32(0x7FFF)), ir.and(high, ir.int32(1))), ir.int32(16), "")!
        let isNaN = ir.fcmp(LLVMRealUNO, x, x)
        return ir.select(isNaN, ir.or(high, ir.int32(0x40)), rounded)
    }

    /// Two floats as one bf16 pair (`low` in the low half).
    func pair(_ low: LLVMValueRef, _ high: LLVMValueRef) -> LLVMValueRef {
        ir.or(bfloat16Bits(low), ir.shl(bfloat16Bits(high), ir.int32(16)))
    }

    /// Rows `[0, count)` of f32 A (row `i` at `a + i·lda`, `k` floats) as bf16 pairs, row `i` at
    /// `into + i·pairs` (int32), an odd `k`'s last pair zero padded. Written element by element as
    /// 16-bit values (little-endian, so element `2p` is pair `p`'s low half): contiguous loads and
    /// stores that vectorize (pairs read at stride 2 became gathers, 4 % of MiniLM's time).
    func convertRows(_ a: LLVMValueRef, lda: LLVMValueRef, count: LLVMValueRef, k: LLVMValueRef, pairs: LLVMValueRef, into: LLVMValueRef) {
        let i16 = LLVMInt16TypeInContext(ir.context)!
        let padded = ir.mul(pairs, ir.int(2))
        ir.loop(ir.int(0), count) { i in
            let source = ir.gep(ir.f32, a, ir.mul(i, lda))
            let target = ir.gep(i16, into, ir.mul(i, padded))
            ir.loop(ir.int(0), k) { e in
                ir.store(ir.trunc(bfloat16Bits(ir.load(ir.f32, ir.gep(ir.f32, source, e))), i16), ir.gep(i16, target, e))
            }
            ir.loop(k, padded) { e in ir.store(LLVMConstNull(i16), ir.gep(i16, target, e)) }   // an odd k's last pair
        }
    }

    /// Columns `[column, column + 32)` of a strided f32 `[k, n]` matrix (element `(i, j)` at
    /// `base + i·strideK + j·strideN`) as a bf16 panel (`pairs × 32` int32), zero padded.
    func packPanel(from base: LLVMValueRef, strideK: LLVMValueRef, strideN: LLVMValueRef, k: LLVMValueRef,
                   n: LLVMValueRef, column: LLVMValueRef, pairs: LLVMValueRef, into panel: LLVMValueRef) {
        let cols = ir.sub(n, column)
        ir.loop(ir.int(0), pairs) { p in
            let i0 = ir.mul(p, ir.int(2)), i1 = ir.add(ir.mul(p, ir.int(2)), ir.int(1))
            let hasHigh = ir.icmp(LLVMIntSLT, i1, k)
            let row0 = ir.gep(ir.f32, base, ir.add(ir.mul(i0, strideK), ir.mul(column, strideN)))
            let row1 = ir.gep(ir.f32, base, ir.add(ir.mul(ir.select(hasHigh, i1, i0), strideK), ir.mul(column, strideN)))
            let target = ir.gep(ir.i32, panel, ir.mul(p, ir.int(PanelLayout.width)))
            ir.loop(ir.int(0), ir.int(PanelLayout.width)) { j in
                let inside = ir.icmp(LLVMIntSLT, j, cols)
                let safeJ = ir.select(inside, j, ir.int(0))
                let x0 = ir.select(inside, ir.load(ir.f32, ir.gep(ir.f32, row0, ir.mul(safeJ, strideN))), ir.float(0))
                let x1 = ir.select(ir.and(inside, hasHigh), ir.load(ir.f32, ir.gep(ir.f32, row1, ir.mul(safeJ, strideN))), ir.float(0))
                ir.store(pair(x0, x1), ir.gep(ir.i32, target, j))
            }
        }
    }
}
