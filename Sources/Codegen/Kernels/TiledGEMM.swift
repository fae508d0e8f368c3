import CLLVM
import Graph
import Tensors

/// The register-blocked GEMM microkernel (`PanelLayout`) and its two helpers: packing a strided
/// matrix into a panel at run time, and running rows of `C = A · panel` in tiles with an epilogue.
/// The GEMM and attention emitters of f32 are built from these.
struct TiledGEMM: KernelEmitter {
    let context: LoweringContext

    /// `NAME.tile<mr>(a, lda, panel, k, c, ldc, cols)`: `C[0..<mr, 0..<cols] = A[0..<mr, 0..<k] · panel`
    /// with rows of A and C at strides `lda` and `ldc` (elements).
    func tileFunction(rows mr: Int) -> LLVMValueRef {
        Self.tile(ir, named: "\(context.kernelName).tile\(mr)") { a, lda, panel, k, c, ldc, cols in
            let lanes = 16, vector = ir.floatVector(lanes)
            let rowsA = (0..<mr).map { ir.gep(ir.f32, a, ir.mul(ir.int($0), lda)) }
            /// One k step: two panel vectors, one broadcast A element per row, 2·mr FMAs.
            func step(_ kk: LLVMValueRef, _ accumulators: [LLVMValueRef]) -> [LLVMValueRef] {
                let b = Self.panelRow(ir, ir.gep(ir.f32, panel, ir.mul(kk, ir.int(PanelLayout.width))), as: vector)
                var next: [LLVMValueRef] = []
                for r in 0..<mr {
                    let x = ir.splat(ir.load(ir.f32, ir.gep(ir.f32, rowsA[r], kk)), lanes: lanes)
                    for v in 0..<2 { next.append(ir.fma(x, b[v], accumulators[2 * r + v])) }
                }
                return next
        }
        // Four k steps per iteration (address arithmetic amortized), then the remainder one by one.
        let zero = LLVMConstNull(vector)!
        let (kMain, partial) = ir.carriedLoop(from: ir.int(0), end: k, unroll: 4, carrying: Array(repeating: zero, count: 2 * mr)) { k, values, _ in step(k, values) }
        let (_, accumulators) = ir.carriedLoop(from: kMain, end: k, unroll: 1, carrying: partial) { k, values, _ in step(k, values) }
        Self.storeTile(ir, accumulators, c: c, ldc: ldc, cols: cols)
        }
    }

    /// How far ahead in its panel (in panel rows of 128 bytes: 4 KiB) a tile asks for the rows it will
    /// read. Weights stream from DRAM, and each panel's first tile found them in no cache: on an Intel
    /// Xeon, f32 BERT-base 1×128 went from 99.9 to 91.3 ms and MiniLM 1×128 from 13.2 to 12.2 (8, 16,
    /// 64 and 128 rows measured too: 8 gained half as much, 64 as much, 128 less). Past a panel's end
    /// it asks for the next panel, which the next task reads.
    static let prefetchRows = 32

    /// The two 16-lane vectors of `type` (f32, or 32 bf16, or 16 int32 of quads) of the 128-byte panel
    /// row at `row`, and a prefetch of the row `prefetchRows` ahead: how every microkernel reads B.
    static func panelRow(_ ir: IRBuilder, _ row: LLVMValueRef, as type: LLVMTypeRef) -> [LLVMValueRef] {
        let half = ir.gep(ir.i8, row, ir.int(64))
        let ahead = ir.gep(ir.i8, row, ir.int(prefetchRows * 128))
        ir.prefetch(ahead)
        ir.prefetch(ir.gep(ir.i8, ahead, ir.int(64)))
        return [ir.loadVector(type, row), ir.loadVector(type, half)]
    }

    /// The tile function `name(a, lda, panel, depth, c, ldc, cols)` every microkernel has: the module's
    /// own, or a new `noinline` one whose body `body` emits from its entry block (the builder's place is
    /// restored after). One copy of each microkernel: a call per tile costs nothing next to its
    /// 8·32·k multiply-adds, and inlining them into every task would multiply the code LLVM optimizes.
    static func tile(_ ir: IRBuilder, named name: String,
                     _ body: (_ a: LLVMValueRef, _ lda: LLVMValueRef, _ panel: LLVMValueRef, _ depth: LLVMValueRef,
                              _ c: LLVMValueRef, _ ldc: LLVMValueRef, _ cols: LLVMValueRef) -> Void) -> LLVMValueRef {
        outlined(ir, named: name, ir.functionType(ir.void, [ir.ptr, ir.i64, ir.ptr, ir.i64, ir.ptr, ir.i64, ir.i64])) { p in
            body(p[0], p[1], p[2], p[3], p[4], p[5], p[6])
        }
    }

    /// The module's function `name`, or a new `noinline` one of `type` whose body `body` emits from its
    /// entry block, given the parameters (the builder's place is restored after): one copy per module.
    static func outlined(_ ir: IRBuilder, named name: String, _ type: LLVMTypeRef, _ body: ([LLVMValueRef]) -> Void) -> LLVMValueRef {
        if let existing = LLVMGetNamedFunction(ir.module, name) { return existing }
        let f = ir.noinlineFunction(name, type)
        let saved = LLVMGetInsertBlock(ir.builder)
        defer { if let saved { ir.position(at: saved) } }
        ir.position(at: LLVMAppendBasicBlockInContext(ir.context, f, "entry")!)
        body((0..<LLVMCountParams(f)).map { LLVMGetParam(f, $0)! })
        return f
    }

    /// Stores a tile's accumulators (two 16-float vectors per row of C, row `r` at `c + r·ldc`) into C's
    /// first `cols` columns, and returns from the tile function.
    static func storeTile(_ ir: IRBuilder, _ accumulators: [LLVMValueRef], c: LLVMValueRef, ldc: LLVMValueRef, cols: LLVMValueRef) {
        let lanes = 16
        for r in 0..<(accumulators.count / 2) {
            let out = ir.gep(ir.f32, c, ir.mul(ir.int(r), ldc))
            ir.maskedStore(accumulators[2 * r], out, count: cols)
            ir.maskedStore(accumulators[2 * r + 1], ir.gep(ir.f32, out, ir.int(lanes)), count: ir.sub(cols, ir.int(lanes)))
        }
        ir.ret()
    }

    /// Copies columns `[column, column + 32)` of a strided `[k, n]` matrix (element `(i, j)` at
    /// `base + i·strideK + j·strideN`) into a zero-padded panel, by a call to the kernel's one
    /// `packFunction`: attention packs three panels per task and the GEMMs one per task, and inlined,
    /// each copy was vectorized into gathers and scatters of its own (MiniLM's attention task was the
    /// largest function LLVM compiled, and the longest of the parallel compile).
    func packPanel(from base: LLVMValueRef, strideK: LLVMValueRef, strideN: LLVMValueRef, k: LLVMValueRef,
                   n: LLVMValueRef, column: LLVMValueRef, into panel: LLVMValueRef) {
        _ = ir.call(packFunction(), Self.packType(ir), [base, strideK, strideN, k, n, column, panel])
    }

    private static func packType(_ ir: IRBuilder) -> LLVMTypeRef {
        ir.functionType(ir.void, [ir.ptr, ir.i64, ir.i64, ir.i64, ir.i64, ir.i64, ir.ptr])
    }

    /// `NAME.pack(base, strideK, strideN, k, n, column, panel)`, `packPanel`'s body: rows that are
    /// contiguous (`strideN` 1: V, a weight stored `[k, n]`) copy as two masked vector loads each; any
    /// other strides (Kᵀ, a transposed view) element by element.
    func packFunction() -> LLVMValueRef {
        Self.outlined(ir, named: "\(context.kernelName).pack", Self.packType(ir)) { p in
            let (base, strideK, strideN, k, n, column, panel) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6])
            let cols = ir.sub(n, column)
            let width = PanelLayout.width, lanes = 16
            let rowsContiguous = ir.block("pack_rows"), strided = ir.block("pack_strided"), done = ir.block("pack_done")
            ir.condBr(ir.icmp(LLVMIntEQ, strideN, ir.int(1)), rowsContiguous, strided)
            ir.position(at: rowsContiguous)
            ir.loop(ir.int(0), k) { i in
                let source = ir.gep(ir.f32, base, ir.add(ir.mul(i, strideK), column))
                let target = ir.gep(ir.f32, panel, ir.mul(i, ir.int(width)))
                for half in 0..<(width / lanes) {
                    let offset = ir.int(half * lanes)
                    let store = LLVMBuildStore(ir.builder, ir.maskedLoad(lanes, ir.gep(ir.f32, source, offset), count: ir.sub(cols, offset)),
                                               ir.gep(ir.f32, target, offset))
                    LLVMSetAlignment(store, 4)
                }
            }
            ir.br(done)
            ir.position(at: strided)
            ir.loop(ir.int(0), k) { i in
                let source = ir.gep(ir.f32, base, ir.add(ir.mul(i, strideK), ir.mul(column, strideN)))
                let target = ir.gep(ir.f32, panel, ir.mul(i, ir.int(width)))
                ir.loop(ir.int(0), ir.int(width)) { j in
                    let inside = ir.icmp(LLVMIntSLT, j, cols)
                    let safeJ = ir.select(inside, j, ir.int(0))
                    let x = ir.load(ir.f32, ir.gep(ir.f32, source, ir.mul(safeJ, strideN)))
                    ir.store(ir.select(inside, x, ir.float(0)), ir.gep(ir.f32, target, j))
                }
            }
            ir.br(done)
            ir.position(at: done)
            ir.ret()
        }
    }

    /// The microkernel `gemmRows` calls: `tile(r)` computes `r ≤ rows` rows; A's elements are
    /// `aElement` (f32, or one int32 per bf16 pair), `k` counts them per row.
    struct Microkernel {
        let rows: Int
        let aElement: LLVMTypeRef
        let tile: (Int) -> LLVMValueRef
    }

    /// The f32 microkernel (`tileFunction`).
    var f32Microkernel: Microkernel { Microkernel(rows: context.f32TileRows, aElement: ir.f32, tile: tileFunction) }

    /// Rows `[begin, end)` of `C = A · panel` for one panel (columns `[column, column + cols)` of C),
    /// in microkernel tiles, then `epilogue(row, column, value)` over the block while it is in L1.
    func gemmRows(_ begin: LLVMValueRef, _ end: LLVMValueRef, k: LLVMValueRef, a: LLVMValueRef, lda: LLVMValueRef,
                  panel: LLVMValueRef, column: LLVMValueRef, cols: LLVMValueRef, c: LLVMValueRef, ldc: LLVMValueRef,
                  microkernel: Microkernel? = nil,
                  epilogue: ((_ row: LLVMValueRef, _ column: LLVMValueRef, _ value: LLVMValueRef) -> LLVMValueRef)? = nil) {
        let kernel = microkernel ?? f32Microkernel
        let mr = kernel.rows
        let tileType = ir.functionType(ir.void, [ir.ptr, ir.i64, ir.ptr, ir.i64, ir.ptr, ir.i64, ir.i64])
        let blocks = ir.sdiv(ir.add(ir.sub(end, begin), ir.int(mr - 1)), ir.int(mr))
        ir.loop(ir.int(0), blocks) { block in
            let i0 = ir.add(begin, ir.mul(block, ir.int(mr)))
            let remaining = ir.sub(end, i0)
            let count = ir.select(ir.icmp(LLVMIntSLT, remaining, ir.int(mr)), remaining, ir.int(mr))
            let args = [ir.gep(kernel.aElement, a, ir.mul(i0, lda)), lda, panel, k,
                        ir.gep(ir.f32, c, ir.add(ir.mul(i0, ldc), column)), ldc, cols]
            let done = ir.block("tile_done")
            let cases = (1...mr).map { _ in ir.block("tile") }
            let switchInst = LLVMBuildSwitch(ir.builder, count, done, UInt32(mr))!
            for (i, block) in cases.enumerated() {
                LLVMAddCase(switchInst, ir.int(i + 1), block)
                ir.position(at: block)
                ir.call(kernel.tile(i + 1), tileType, args)
                ir.br(done)
            }
            ir.position(at: done)
        }
        guard let epilogue else { return }
        ir.loop(begin, end) { i in
            let rowBase = ir.add(ir.mul(i, ldc), column)
            ir.loop(ir.int(0), cols) { j in
                let p = ir.gep(ir.f32, c, ir.add(rowBase, j))
                ir.store(epilogue(i, ir.add(column, j), ir.load(ir.f32, p)), p)
            }
        }
    }
}
