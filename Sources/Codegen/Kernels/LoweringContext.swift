import CLLVM
import Graph
import Tensors

/// What every kernel emitter shares while one graph is lowered: the IR builder, the kernel's
/// arguments (dims, workspace, constants, thread pool), the lowered values, the memory plan every
/// buffer is placed by, and the task functions emitted so far. Kernels reach it through
/// `KernelEmitter`.
final class LoweringContext {
    let graph: Graph
    let ir: IRBuilder
    let math: MathFunctions
    /// The scalar rule of every elementwise op.
    let scalars: ScalarSemantics
    /// The kernel function's symbol name (task and tile functions are named after it).
    let kernelName: String
    /// The prefix of the thread pool functions the kernel's parallel loops call (`ThreadPoolIR`):
    /// the kernel's own name, or one shared by every kernel of a multi-entry library.
    let poolPrefix: String
    /// Each dynamic dim at its upper bound, for sizing buffers and scratch.
    let maxBindings: [String: Int]
    /// The runtime value of each dynamic dim.
    var dims: [String: LLVMValueRef] = [:]
    /// The lowered value of every graph node emitted so far.
    var values: [ValueID: LoweredValue] = [:]
    /// The kernel's workspace argument.
    let workspace: LLVMValueRef
    /// The kernel's constants argument, for loading constant slots where they are first used.
    let constantsArg: LLVMValueRef
    /// The kernel's thread pool argument (null: run serially).
    let pool: LLVMValueRef
    /// The calling thread's task scratch (at the end of the workspace; placed once its size is known).
    let callerScratch: LLVMValueRef
    /// The block that returns `RunSignature.indexOutOfRange`.
    let errorBlock: LLVMBasicBlockRef
    /// Where every buffer lives in the workspace (`MemoryPlan`, the `plan-memory` pass's plan).
    let plan: MemoryPlan
    /// The arithmetic of the matrix products (`KernelSet`), which also sizes their scratch in the plan.
    let precision: Precision
    /// Rows of the f32 GEMM microkernel (`TiledGEMM.f32Microkernel`), from the target's registers.
    let f32TileRows: Int

    /// The f32 microkernel's rows for `target`: each row holds two 16-float accumulators, so AVX-512's
    /// 32 zmm registers take `PanelLayout.rows` (8: 16 accumulators, room for the panel and the
    /// broadcasts); AVX2's 16 ymm registers, where an accumulator takes two, take 2 (8 registers, the
    /// panel's four and a broadcast); SSE's 16 xmm, where it takes four, take 1. More rows spill an
    /// accumulator to the stack on every k step: MiniLM 1×128's AVX2 copy took 35 ms with 8 or 3 rows,
    /// 20 ms with 2 (AVX-512: 16 ms, on a Zen 4 whose AVX-512 runs as two 256-bit halves).
    static func f32TileRows(for target: HostTarget) -> Int {
        target.has("avx512f") ? PanelLayout.rows : target.has("avx2") || target.has("avx") ? 2 : 1
    }
    /// The node being lowered (its result and temporaries come from the plan).
    var node: Graph.Node?
    /// Temporaries of the current node handed out so far.
    private var temporariesUsed = 0
    /// Requests the plan did not provide for (a kernel and `KernelFootprint` disagree).
    private(set) var planMismatches: [String] = []
    /// The constant slots the kernel reads, in argument order.
    private(set) var constants: [ConstantSlot] = []
    /// Task functions emitted so far (for unique names).
    var taskCount = 0
    /// Each distinct task function by its IR text with the name left out: a task whose IR equals an
    /// earlier one's (the same op at the same shapes in another layer) calls that one instead, so LLVM
    /// optimizes and compiles it once.
    var tasksByBody: [String: LLVMValueRef] = [:]
    /// Outlined loops by kind and constants (`outlined`).
    var loopsByKey: [String: LLVMValueRef] = [:]

    /// `task` itself, or an earlier task function with the same IR (then `task` is deleted).
    /// The body is compared as text printed under one placeholder name (the task's own name is put
    /// back after): renaming costs nothing, where replacing the name in the text (Foundation's
    /// `replacingOccurrences`) was two thirds of MiniLM's IR emission.
    func deduplicated(_ task: LLVMValueRef) -> LLVMValueRef {
        var length = 0
        let name = String(cString: LLVMGetValueName2(task, &length))
        let placeholder = "tcompile.task.being.compared"
        LLVMSetValueName2(task, placeholder, placeholder.utf8.count)
        let body = takeLLVMString(LLVMPrintValueToString(task))
        LLVMSetValueName2(task, name, name.utf8.count)
        if let existing = tasksByBody[body] {
            LLVMDeleteFunction(task)
            return existing
        }
        tasksByBody[body] = task
        return task
    }

    init(graph: Graph, ir: IRBuilder, kernelName: String, poolPrefix: String? = nil, workspace: LLVMValueRef, constants: LLVMValueRef,
         pool: LLVMValueRef, callerScratch: LLVMValueRef, errorBlock: LLVMBasicBlockRef, precision: Precision = .fp32,
         f32TileRows: Int = PanelLayout.rows) {
        self.f32TileRows = f32TileRows
        self.poolPrefix = poolPrefix ?? kernelName
        self.graph = graph
        self.ir = ir
        self.math = MathFunctions(ir: ir)
        self.scalars = ScalarSemantics(ir: ir, math: math)
        self.kernelName = kernelName
        self.maxBindings = Dictionary(graph.symbols.map { ($0.name, $0.max) }, uniquingKeysWith: { a, _ in a })   // verified: distinct
        self.workspace = workspace
        self.constantsArg = constants
        self.pool = pool
        self.callerScratch = callerScratch
        self.errorBlock = errorBlock
        self.plan = MemoryPlan(graph, precision: precision)
        self.precision = precision
    }

    /// Starts lowering `node`.
    func begin(_ node: Graph.Node) {
        self.node = node
        temporariesUsed = 0
    }

    /// The static type of graph value `id`.
    func type(of id: ValueID) -> TensorType { graph.node(id)!.type }

    /// A pointer to a constant slot's data, adding the slot on first use.
    func constantPointer(_ slot: ConstantSlot) -> LLVMValueRef {
        let index = constants.firstIndex(of: slot) ?? {
            constants.append(slot)
            return constants.count - 1
        }()
        return ir.load(ir.ptr, ir.gep(ir.ptr, constantsArg, ir.int(index)))
    }

    /// The runtime value of a symbolic dim expression.
    func value(of d: SymbolicInt) -> LLVMValueRef {
        if let c = d.constant { return ir.int(c) }
        var total: LLVMValueRef? = nil
        for (monomial, coefficient) in d.terms {
            var term = ir.int(coefficient)
            for s in monomial { term = ir.mul(term, dims[s]!) }
            total = total.map { ir.add($0, term) } ?? term
        }
        return total!
    }

    /// Row-major strides for runtime dims.
    func contiguousStrides(_ shape: [LLVMValueRef]) -> [LLVMValueRef] {
        var strides = [LLVMValueRef](repeating: ir.int(1), count: shape.count)
        var acc = ir.int(1)
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc = ir.mul(acc, shape[i])
        }
        return strides
    }

    /// A contiguous value of `type` at `base`.
    func fresh(_ type: TensorType, base: LLVMValueRef) -> LoweredValue {
        let shape = type.shape.map(value(of:))
        return LoweredValue(dtype: type.dtype, base: base, offset: ir.int(0), shape: shape,
                            strides: contiguousStrides(shape), contiguous: true, layout: .rowMajor)
    }

    /// The current node's result buffer, where the plan put it, as a contiguous value of `type`
    /// (the node's own type unless given: a reshape copies its source's shape there first).
    func output(_ node: Graph.Node, as type: TensorType? = nil) -> LoweredValue {
        guard let slot = plan.slots[node.id] else {
            planMismatches.append("%\(node.id) needs a buffer the memory plan did not give it")
            return fresh(type ?? node.type, base: workspace)
        }
        return fresh(type ?? node.type, base: ir.gep(ir.i8, workspace, ir.int(slot.offset)))
    }

    /// The next planned temporary of the current node, for a contiguous copy of `type`.
    func temporary(_ type: TensorType) -> LoweredValue {
        let id = node?.id ?? -1
        let planned = plan.temporaries[id] ?? []
        let needed = type.shape.reduce(1) { $0 * max(0, $1.evaluate(maxBindings) ?? 0) } * type.dtype.byteSize
        guard temporariesUsed < planned.count, planned[temporariesUsed].bytes >= needed else {
            planMismatches.append("%\(id) needs a temporary copy the memory plan did not reserve")
            return fresh(type, base: workspace)
        }
        defer { temporariesUsed += 1 }
        return fresh(type, base: ir.gep(ir.i8, workspace, ir.int(planned[temporariesUsed].offset)))
    }

    /// Records a request the plan does not cover (lowering fails with it at the end).
    func note(_ mismatch: String) { planMismatches.append(mismatch) }

    /// Records the task scratch a parallel loop needs; the plan must have reserved at least that.
    func requireScratch(_ bytes: Int) {
        if bytes > plan.scratchBytes {
            planMismatches.append("%\(node?.id ?? -1) needs \(bytes) bytes of task scratch, the memory plan reserved \(plan.scratchBytes)")
        }
    }

    /// Pointer to the element at `indices` (one per dim).
    func address(_ v: LoweredValue, _ indices: [LLVMValueRef]) -> LLVMValueRef {
        var offset = v.offset
        for (i, s) in zip(indices, v.strides) { offset = ir.add(offset, ir.mul(i, s)) }
        return ir.gep(v.dtype.llvmType(ir), v.base, offset)
    }

    /// A local variable in the entry block of the function being emitted (promoted to a register by
    /// the optimizer).
    func local(_ type: LLVMTypeRef) -> LLVMValueRef { ir.localInEntry(type) }

    /// Strides of `v` broadcast to `outType` (0 where `v`'s dim is a broadcast 1), from static types.
    func broadcastStrides(_ v: LoweredValue, _ vType: TensorType, to outType: TensorType) -> [LLVMValueRef] {
        let lead = outType.shape.count - vType.shape.count
        return (0..<outType.shape.count).map { i in
            if i < lead { return ir.int(0) }
            let d = vType.shape[i - lead]
            return d == 1 && outType.shape[i] != 1 ? ir.int(0) : v.strides[i - lead]
        }
    }

    /// Loads the element of `v` at a broadcast position.
    func load(_ v: LoweredValue, strides: [LLVMValueRef], _ indices: [LLVMValueRef]) -> LLVMValueRef {
        var offset = v.offset
        for (i, s) in zip(indices, strides) { offset = ir.add(offset, ir.mul(i, s)) }
        return ir.load(v.dtype.llvmType(ir), ir.gep(v.dtype.llvmType(ir), v.base, offset))
    }

    /// Copies `source` (same shape) into `destination`, both strided, in an outlined loop (equal
    /// copies, such as the pieces of a concat of many equal inputs, share one function).
    func copy(_ source: LoweredValue, into destination: LoweredValue) {
        let r = destination.shape.count
        if r >= 1, source.dtype == destination.dtype, isOne(source.strides[r - 1]), isOne(destination.strides[r - 1]) {
            return copyRows(source, into: destination)
        }
        outlinedLoops(kind: "copy \(source.dtype) \(destination.dtype) rank \(destination.shape.count)",
                      shape: destination.shape, operands: [source, destination]) { indices, v in
            ir.store(load(v[0], strides: v[0].strides, indices), address(v[1], indices))
        }
    }

    /// `copy` when both sides' last dim has stride 1: each row is one `memmove`, and where the rows of
    /// the last two dims lie back to back on both sides (a KV cache copied into a longer one, a concat
    /// along dim 1 of contiguous inputs) the whole block is one. Element by element, LLVM left the
    /// runtime-strided loop scalar: GPT-2's decode step spent 14 % of its time copying its cache.
    private func copyRows(_ source: LoweredValue, into destination: LoweredValue) {
        let r = destination.shape.count
        let outer = r >= 2 ? r - 2 : 0
        let rows = r >= 2 ? destination.shape[r - 2] : ir.int(1)
        let length = destination.shape[r - 1]
        let sourceRowStride = r >= 2 ? source.strides[r - 2] : length
        let destinationRowStride = r >= 2 ? destination.strides[r - 2] : length
        func trimmed(_ v: LoweredValue) -> LoweredValue {
            var v = v
            v.strides = Array(v.strides.prefix(outer))
            v.shape = Array(v.shape.prefix(outer))
            return v
        }
        let element = source.dtype.byteSize
        outlinedLoops(kind: "copy rows \(source.dtype) rank \(r)", shape: Array(destination.shape.prefix(outer)),
                      operands: [trimmed(source), trimmed(destination)],
                      extras: [rows, length, sourceRowStride, destinationRowStride]) { indices, v, extras in
            let (rows, length, sourceStride, destinationStride) = (extras[0], extras[1], extras[2], extras[3])
            let from = address(v[0], indices), to = address(v[1], indices)
            let type = v[0].dtype.llvmType(ir)
            let block = ir.and(ir.icmp(LLVMIntEQ, sourceStride, length), ir.icmp(LLVMIntEQ, destinationStride, length))
            let whole = ir.block("copy_block"), byRow = ir.block("copy_rows"), done = ir.block("copy_done")
            ir.condBr(block, whole, byRow)
            ir.position(at: whole)
            ir.memmove(to, from, bytes: ir.mul(ir.mul(rows, length), ir.int(element)), alignment: element)
            ir.br(done)
            ir.position(at: byRow)
            ir.loop(ir.int(0), rows) { i in
                ir.memmove(ir.gep(type, to, ir.mul(i, destinationStride)), ir.gep(type, from, ir.mul(i, sourceStride)),
                           bytes: ir.mul(length, ir.int(element)), alignment: element)
            }
            ir.br(done)
            ir.position(at: done)
        }
    }

    /// Whether `v` is the integer constant 1.
    private func isOne(_ v: LLVMValueRef) -> Bool {
        LLVMIsAConstantInt(v) != nil && LLVMConstIntGetSExtValue(v) == 1
    }

    /// `v` itself when contiguous, else a contiguous copy in one of the node's planned temporaries.
    func contiguous(_ v: LoweredValue, _ type: TensorType) -> LoweredValue {
        if v.contiguous { return v }
        let out = temporary(type)
        copy(v, into: out)
        return out
    }

    /// A pointer to `v`'s first element.
    func pointer(_ v: LoweredValue) -> LLVMValueRef { ir.gep(ir.f32, v.base, v.offset) }

    /// `[begin, min(begin + size, count))` of chunk `index`: the rows one task handles.
    func chunk(_ index: LLVMValueRef, size: Int, of count: LLVMValueRef) -> (begin: LLVMValueRef, end: LLVMValueRef) {
        chunk(index, size: ir.int(size), of: count)
    }

    /// `[begin, min(begin + size, count))` of chunk `index` with a size known at run time.
    func chunk(_ index: LLVMValueRef, size: LLVMValueRef, of count: LLVMValueRef) -> (begin: LLVMValueRef, end: LLVMValueRef) {
        let begin = ir.mul(index, size)
        return (begin, minimum(ir.add(begin, size), count))
    }

    /// How a GEMM's `rows` rows of A are split among tasks: `count` chunks of `size` rows (a multiple of
    /// `tileRows`, spread evenly), as few as keep one chunk's rows of A (`k` elements of `elementBytes`
    /// each) within `GEMMChunking.aBytes`. Every panel of B a task reads comes from memory once and is
    /// reused from cache by all the chunk's tiles, so fewer, taller chunks read the weights fewer times:
    /// at BERT-base's 128 rows one chunk instead of two. On an Intel Xeon a single-thread C loop over
    /// cold panels ran at 137 GFLOP/s in one pass and 112 in two; whole models gained 1–2 %.
    func gemmRowChunks(rows: LLVMValueRef, k: LLVMValueRef, elementBytes: Int, tileRows: Int) -> (count: LLVMValueRef, size: LLVMValueRef) {
        let ceilDiv = { (a: LLVMValueRef, b: LLVMValueRef) in self.chunks(a, of: b) }
        let tile = ir.int(tileRows)
        let fit = ir.sdiv(ir.int(GEMMChunking.aBytes), maximum(ir.mul(k, ir.int(elementBytes)), ir.int(1)))
        let fitTiles = maximum(ir.mul(ir.sdiv(fit, tile), tile), tile)
        let count = ceilDiv(rows, fitTiles)
        let size = ir.mul(ceilDiv(ceilDiv(rows, maximum(count, ir.int(1))), tile), tile)
        return (count, maximum(size, tile))
    }

    /// `⌈count / size⌉` at run time.
    func chunks(_ count: LLVMValueRef, of size: Int) -> LLVMValueRef {
        ir.sdiv(ir.add(count, ir.int(size - 1)), ir.int(size))
    }

    /// `⌈count / size⌉` of two run-time values (`size` ≥ 1).
    func chunks(_ count: LLVMValueRef, of size: LLVMValueRef) -> LLVMValueRef {
        ir.sdiv(ir.add(count, ir.sub(size, ir.int(1))), size)
    }

    /// `max(a, b)` of two i64 values.
    func maximum(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef {
        ir.select(ir.icmp(LLVMIntSGT, a, b), a, b)
    }

    /// `min(a, b)` of two i64 values.
    func minimum(_ a: LLVMValueRef, _ b: LLVMValueRef) -> LLVMValueRef {
        ir.select(ir.icmp(LLVMIntSLT, a, b), a, b)
    }
}

/// A kernel family's emitter: reaches the shared lowering state through `context`, with the
/// context's helpers forwarded so kernels read as plain IR-building code.
protocol KernelEmitter {
    var context: LoweringContext { get }
}

extension KernelEmitter {
    var ir: IRBuilder { context.ir }
    var math: MathFunctions { context.math }
    var scalars: ScalarSemantics { context.scalars }
    var maxBindings: [String: Int] { context.maxBindings }
    func output(_ node: Graph.Node) -> LoweredValue { context.output(node) }
    func contiguous(_ v: LoweredValue, _ type: TensorType) -> LoweredValue { context.contiguous(v, type) }
    func address(_ v: LoweredValue, _ indices: [LLVMValueRef]) -> LLVMValueRef { context.address(v, indices) }
    func load(_ v: LoweredValue, strides: [LLVMValueRef], _ indices: [LLVMValueRef]) -> LLVMValueRef {
        context.load(v, strides: strides, indices)
    }
    func local(_ type: LLVMTypeRef) -> LLVMValueRef { context.local(type) }
    func broadcastStrides(_ v: LoweredValue, _ vType: TensorType, to outType: TensorType) -> [LLVMValueRef] {
        context.broadcastStrides(v, vType, to: outType)
    }
    func parallelFor(_ count: LLVMValueRef, scratchBytes: Int, capturing values: [LLVMValueRef],
                     _ body: (_ task: LLVMValueRef, _ captured: [LLVMValueRef], _ scratch: LLVMValueRef) -> Void) {
        context.parallelFor(count, scratchBytes: scratchBytes, capturing: values, body)
    }
}
