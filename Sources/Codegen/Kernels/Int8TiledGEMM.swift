import CLLVM
import Graph
import Tensors

/// The int8 GEMM microkernel (`vpdpbusd`, AVX512-VNNI) and its helper, quantizing rows of A.
///
/// A row of A is quantized on its own (per token) and asymmetrically, as ONNX Runtime quantizes
/// activations to u8: over `[lo, hi]` = the row's range widened to hold 0, `u = round(x / s) + z` in
/// `[0, 255]` with `s = (hi − lo) / 255` and the zero point `z = round(−lo / s)`; a row after GELU
/// (almost no negatives) gets twice the resolution a symmetric scale would give it. The bytes are
/// stored four per int32, then the row's scale (f32) and zero point (i32). A panel
/// (`PanelLayout.Format.int8`) holds the 32 columns' scales and sums `Σ_k q`, then four rows of B per
/// int32. `vpdpbusd acc, a, b` adds the four products of A's unsigned and B's signed bytes in each
/// lane to its int32, so one broadcast quad of A advances 16 columns by four `k` steps; the tile is
/// then `(acc − z · Σ_k q) · s_row · s_column` in f32, where every epilogue runs as at f32. The int32
/// sums cannot overflow below `k` = 65,000 (255 · 127 · k < 2³¹).
struct Int8TiledGEMM: KernelEmitter {
    let context: LoweringContext
    /// Rows per tile: 2 accumulators each, 16 of the 32 zmm registers (as the bf16 kernel).
    static let rows = 8

    private var intVector: LLVMTypeRef { LLVMVectorType(ir.i32, 16) }

    /// Int32 per quantized row of A beyond its quads: the scale and the zero point.
    static let rowTail = 2

    /// The microkernel as `TiledGEMM.gemmRows` calls it (`k` counted in quads, A's rows `quads + 2` int32).
    var microkernel: TiledGEMM.Microkernel { TiledGEMM.Microkernel(rows: Self.rows, aElement: ir.i32, tile: tileFunction) }

    /// `x` (an i32) in all 16 lanes.
    private func splat(_ x: LLVMValueRef) -> LLVMValueRef { ir.splat(x, lanes: 16) }

    /// A 16-lane int32 load that assumes only 4-byte alignment.
    private func loadInts(_ pointer: LLVMValueRef) -> LLVMValueRef { ir.loadVector(intVector, pointer) }

    /// `NAME.int8tile<mr>(a, lda, panel, quads, c, ldc, cols)`: `C[0..<mr, 0..<cols] = A · panel` with
    /// A's quantized rows (`quads` int32, the scale, the zero point) at stride `lda` (int32) and C's at
    /// `ldc` (floats).
    func tileFunction(rows mr: Int) -> LLVMValueRef {
        TiledGEMM.tile(ir, named: "\(context.kernelName).int8tile\(mr)") { a, lda, panel, quads, c, ldc, cols in
            let lanes = 16, width = PanelLayout.width
            let rowsA = (0..<mr).map { ir.gep(ir.i32, a, ir.mul(ir.int($0), lda)) }
            let data = ir.gep(ir.i32, panel, ir.int(2 * width))
            // Few rows leave few independent accumulators to cover `vpdpbusd`'s latency, so their quad
            // steps rotate over `chains` sets of accumulators, summed at the end.
            let chains = max(1, min(4, 8 / mr))
            func step(_ kk: LLVMValueRef, _ accumulators: [LLVMValueRef], chain: Int) -> [LLVMValueRef] {
                let row = ir.gep(ir.i32, data, ir.mul(kk, ir.int(width)))
                let b = TiledGEMM.panelRow(ir, row, as: intVector)
                var next = accumulators
                for r in 0..<mr {
                    let x = splat(ir.load(ir.i32, ir.gep(ir.i32, rowsA[r], kk)))
                    for v in 0..<2 {
                        let i = chain * 2 * mr + 2 * r + v
                        next[i] = ir.overloaded("llvm.x86.avx512.vpdpbusd.512", [], [accumulators[i], x, b[v]])
                    }
                }
                return next
            }
            let zero = LLVMConstNull(intVector)!
            let (kMain, partial) = ir.carriedLoop(from: ir.int(0), end: quads, unroll: 4, carrying: Array(repeating: zero, count: 2 * mr * chains)) {
                step($0, $1, chain: $2 % chains)
            }
            let (_, sets) = ir.carriedLoop(from: kMain, end: quads, unroll: 1, carrying: partial) { step($0, $1, chain: $2 % chains) }
            let sums = (0..<(2 * mr)).map { i in (1..<chains).reduce(sets[i]) { ir.add($0, sets[$1 * 2 * mr + i]) } }
            // Back to f32: (sum − zero point · Σ_k q) · row scale · column scale.
            let columnScales = (0..<2).map { ir.loadVector(lanes, ir.gep(ir.i32, panel, ir.int(lanes * $0))) }
            let columnSums = (0..<2).map { loadInts(ir.gep(ir.i32, panel, ir.int(width + lanes * $0))) }
            var values: [LLVMValueRef] = []
            for r in 0..<mr {
                let rowScale = ir.splat(ir.bitcast(ir.load(ir.i32, ir.gep(ir.i32, rowsA[r], quads)), ir.f32), lanes: lanes)
                let zeroPoint = splat(ir.load(ir.i32, ir.gep(ir.i32, rowsA[r], ir.add(quads, ir.int(1)))))
                for v in 0..<2 {
                    let correction = ir.mul(zeroPoint, columnSums[v])
                    let exact = LLVMBuildSIToFP(ir.builder, ir.sub(sums[2 * r + v], correction), ir.floatVector(lanes), "")!
                    values.append(ir.fmul(exact, ir.fmul(columnScales[v], rowScale)))
                }
            }
            TiledGEMM.storeTile(ir, values, c: c, ldc: ldc, cols: cols)
        }
    }

    /// Rows of the weight-only microkernel (decoding's few rows).
    static let weightOnlyRows = 4

    /// The weight-only microkernel as `TiledGEMM.gemmRows` calls it: A stays f32 (rows of `4·quads`
    /// floats, zero padded past `k`), `k` counted in quads.
    var weightOnlyMicrokernel: TiledGEMM.Microkernel {
        TiledGEMM.Microkernel(rows: Self.weightOnlyRows, aElement: ir.f32, tile: weightOnlyTileFunction)
    }

    /// `NAME.int8wtile<mr>(a, lda, panel, quads, c, ldc, cols)`: `C = A · dequantized panel` with A in
    /// f32 (weight-only int8, for decoding: memory-bound, so the weights' quarter of the bytes is the
    /// gain, and the activations keep full precision). Each int32 of the panel is split into its four
    /// signed bytes by shifts, converted to f32 and multiplied with one broadcast element of A per row;
    /// the column scales apply once at the end.
    func weightOnlyTileFunction(rows mr: Int) -> LLVMValueRef {
        TiledGEMM.tile(ir, named: "\(context.kernelName).int8wtile\(mr)") { a, lda, panel, quads, c, ldc, cols in
            let lanes = 16, width = PanelLayout.width
            let vector = ir.floatVector(lanes)
            let rowsA = (0..<mr).map { ir.gep(ir.f32, a, ir.mul(ir.int($0), lda)) }
            let data = ir.gep(ir.i32, panel, ir.int(2 * width))
            // The four bytes of a quad go to `chains` sets of accumulators (one set per byte for one row),
            // so that few rows still have independent FMA chains.
            let chains = max(1, 4 / mr)
            func step(_ kk: LLVMValueRef, _ accumulators: [LLVMValueRef]) -> [LLVMValueRef] {
                let row = ir.gep(ir.i32, data, ir.mul(kk, ir.int(width)))
                let words = TiledGEMM.panelRow(ir, row, as: intVector)
                var next = accumulators
                for byte in 0..<4 {
                    let weights = words.map { word -> LLVMValueRef in
                        let shifted = ir.shl(word, splat(ir.int32(Int32(24 - 8 * byte))))
                        return LLVMBuildSIToFP(ir.builder, LLVMBuildAShr(ir.builder, shifted, splat(ir.int32(24)), "")!, vector, "")!
                    }
                    let chain = byte % chains
                    for r in 0..<mr {
                        let x = ir.splat(ir.load(ir.f32, ir.gep(ir.f32, rowsA[r], ir.add(ir.mul(kk, ir.int(4)), ir.int(byte)))), lanes: lanes)
                        for v in 0..<2 {
                            let i = chain * 2 * mr + 2 * r + v
                            next[i] = ir.fma(x, weights[v], next[i])
                        }
                    }
                }
                return next
            }
            let zero = LLVMConstNull(vector)!
            let (_, sets) = ir.carriedLoop(from: ir.int(0), end: quads, unroll: 1, carrying: Array(repeating: zero, count: 2 * mr * chains)) { k, values, _ in
                step(k, values)
            }
            let sums = (0..<(2 * mr)).map { i in (1..<chains).reduce(sets[i]) { ir.fadd($0, sets[$1 * 2 * mr + i]) } }
            let columnScales = (0..<2).map { ir.loadVector(lanes, ir.gep(ir.i32, panel, ir.int(lanes * $0))) }
            let values = sums.enumerated().map { i, sum in ir.fmul(sum, columnScales[i % 2]) }
            TiledGEMM.storeTile(ir, values, c: c, ldc: ldc, cols: cols)
        }
    }

    /// Rows `[0, count)` of f32 A (row `i` at `a + i·lda`, `k` floats) copied to `into` with rows of
    /// `4·quads` floats, zero padded past `k` (the weight-only kernel reads whole quads).
    func padRows(_ a: LLVMValueRef, lda: LLVMValueRef, count: LLVMValueRef, k: LLVMValueRef, quads: LLVMValueRef, into: LLVMValueRef) {
        let padded = ir.mul(quads, ir.int(4))
        ir.loop(ir.int(0), count) { i in
            let source = ir.gep(ir.f32, a, ir.mul(i, lda)), target = ir.gep(ir.f32, into, ir.mul(i, padded))
            ir.loop(ir.int(0), k) { e in ir.store(ir.load(ir.f32, ir.gep(ir.f32, source, e)), ir.gep(ir.f32, target, e)) }
            ir.loop(k, padded) { e in ir.store(ir.float(0), ir.gep(ir.f32, target, e)) }
        }
    }

    /// Rows `[0, count)` of f32 A (row `i` at `a + i·lda`, `k` floats) quantized, row `i` at
    /// `into + i·(quads + 2)` (int32): `4·quads` unsigned bytes (the zero point past `k`), the row's f32
    /// scale and its i32 zero point. The range is found with integer reductions, which vectorize, on the
    /// floats' bits mapped to integers of the same order; a NaN makes the scale NaN and so the row's results.
    ///
    /// With a calibrated `range` (`tcompile --calibrate`: static quantization) every row uses its one
    /// scale and zero point, computed here, and the reductions are skipped; values beyond it clamp.
    func quantizeRows(_ a: LLVMValueRef, lda: LLVMValueRef, count: LLVMValueRef, k: LLVMValueRef, quads: LLVMValueRef, into: LLVMValueRef,
                      range: ClosedRange<Float>? = nil) {
        let stride = ir.add(quads, ir.int(Self.rowTail))
        if let range {
            let parameters = Self.staticQuantization(range)
            ir.loop(ir.int(0), count) { i in
                store(row: ir.gep(ir.f32, a, ir.mul(i, lda)), k: k, quads: quads, into: ir.gep(ir.i32, into, ir.mul(i, stride)),
                      scale: ir.float(parameters.scale), inverse: ir.float(parameters.inverse), zeroPoint: ir.int32(parameters.zeroPoint))
            }
            return
        }
        let (low, high) = (ir.localInEntry(ir.i32), ir.localInEntry(ir.i32))
        /// The float's bits as an integer of the same order (an involution: it also maps back).
        func ordered(_ bits: LLVMValueRef) -> LLVMValueRef {
            ir.xor(bits, ir.and(LLVMBuildAShr(ir.builder, bits, ir.int32(31), "")!, ir.int32(0x7FFF_FFFF)))
        }
        ir.loop(ir.int(0), count) { i in
            let source = ir.gep(ir.f32, a, ir.mul(i, lda))
            let target = ir.gep(ir.i32, into, ir.mul(i, stride))
            ir.store(ir.int32(0), low)    // 0.0 orders as 0: the range always holds 0
            ir.store(ir.int32(0), high)
            ir.loop(ir.int(0), k) { e in
                let key = ordered(ir.bitcast(ir.load(ir.f32, ir.gep(ir.f32, source, e)), ir.i32))
                let (lo, hi) = (ir.load(ir.i32, low), ir.load(ir.i32, high))
                ir.store(ir.select(ir.icmp(LLVMIntSLT, key, lo), key, lo), low)
                ir.store(ir.select(ir.icmp(LLVMIntSGT, key, hi), key, hi), high)
            }
            let lo = ir.bitcast(ordered(ir.load(ir.i32, low)), ir.f32), hi = ir.bitcast(ordered(ir.load(ir.i32, high)), ir.f32)
            let range = ir.fsub(hi, lo)
            let scale = ir.fdiv(range, ir.float(255))
            let positive = ir.fcmp(LLVMRealOGT, range, ir.float(0))
            let inverse = ir.select(positive, ir.fdiv(ir.float(255), range), ir.float(0))
            let zero = ir.intrinsic("llvm.rint", [ir.fmul(ir.fneg(lo), inverse)])
            let zeroPoint = ir.fptosi(ir.intrinsic("llvm.minnum", [ir.intrinsic("llvm.maxnum", [zero, ir.float(0)]), ir.float(255)]), ir.i32)
            store(row: source, k: k, quads: quads, into: target, scale: scale, inverse: inverse, zeroPoint: zeroPoint)
        }
    }

    /// One row's bytes `clamp(rint(x · inverse) + zeroPoint, 0, 255)` (the zero point past `k`), then
    /// its scale and zero point.
    private func store(row source: LLVMValueRef, k: LLVMValueRef, quads: LLVMValueRef, into target: LLVMValueRef,
                       scale: LLVMValueRef, inverse: LLVMValueRef, zeroPoint: LLVMValueRef) {
        let zeroFloat = ir.sitofp(zeroPoint)
        ir.loop(ir.int(0), k) { e in
            let x = ir.fadd(ir.intrinsic("llvm.rint", [ir.fmul(ir.load(ir.f32, ir.gep(ir.f32, source, e)), inverse)]), zeroFloat)
            let clamped = ir.intrinsic("llvm.minnum", [ir.intrinsic("llvm.maxnum", [x, ir.float(0)]), ir.float(255)])
            ir.store(ir.trunc(ir.fptosi(clamped, ir.i32), ir.i8), ir.gep(ir.i8, target, e))
        }
        let zeroByte = ir.trunc(zeroPoint, ir.i8)
        ir.loop(k, ir.mul(quads, ir.int(4))) { e in ir.store(zeroByte, ir.gep(ir.i8, target, e)) }
        ir.store(ir.bitcast(scale, ir.i32), ir.gep(ir.i32, target, quads))
        ir.store(zeroPoint, ir.gep(ir.i32, target, ir.add(quads, ir.int(1))))
    }

    /// The scale, its inverse and the zero point of a calibrated range (as the kernel computes them
    /// from a row's range): `s = (hi − lo) / 255`, `z = clamp(rint(−lo / s), 0, 255)`.
    static func staticQuantization(_ range: ClosedRange<Float>) -> (scale: Float, inverse: Float, zeroPoint: Int32) {
        let lo = Swift.min(range.lowerBound, 0), hi = Swift.max(range.upperBound, 0), width = hi - lo
        let inverse: Float = width > 0 ? 255 / width : 0
        let zero = Swift.min(Swift.max((-lo * inverse).rounded(.toNearestOrEven), 0), 255)
        return (width / 255, inverse, Int32(zero))
    }
}
