import CLLVM
import Graph
import Tensors

/// Why a graph could not be compiled; names the op and the Swift line it was traced from.
public struct CodegenError: Error, CustomStringConvertible {
    public var message: String
    public var location: SourceLocation?
    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }
    public var description: String { "codegen error: \(message)" + (location.map { " [traced from \($0)]" } ?? "") }
}

/// The calling convention of a compiled graph's kernel function (the AOT library wraps it in the
/// checked C API of `NAME.h`):
///
/// `int32 NAME_kernel(const int64 *dims, void *const *inputs, void *const *outputs,
///                 void *const *constants, void *workspace, void *pool)`
///
/// `dims` holds the dynamic dims in `Graph.symbols` order; `inputs` the input buffers in input-node
/// order; `outputs` caller-allocated contiguous buffers in `Graph.outputs` order; `constants` one
/// pointer per entry of `constants` (`ConstantSlot.data` gives each one's bytes); `workspace` at
/// least `workspaceBytes` bytes, 64-byte aligned, private to the call; `pool` a thread pool from
/// `NAME.pool_create` (`ThreadPoolIR`) or null to run on the calling thread only. Returns 0, or
/// `indexOutOfRange` when an id is outside its table (nothing meaningful is written then).
public struct RunSignature: Sendable {
    /// The function's symbol name.
    public var name: String
    /// The constant buffers in the order the run function expects their pointers.
    public var constants: [ConstantSlot]
    /// Workspace bytes needed at the dim bounds (the calling thread's task scratch included).
    public var workspaceBytes: Int
    /// Scratch bytes each pool thread needs for its tasks.
    public var taskScratchBytes: Int
    /// Return code for an index (token id) outside its table.
    public static let indexOutOfRange: Int32 = 2

    /// The constants' names, in kernel order.
    public var constantNames: [String] { constants.map(\.name) }
}

/// One constant buffer the kernel reads: a graph constant as it is, or packed into GEMM panels.
public struct ConstantSlot: Sendable, Equatable {
    /// The graph constant.
    public var name: String
    /// Stored as `[panels][k][32]` (`PanelLayout`) rather than row-major `[k, n]`.
    public var packed: Bool

    /// The bytes the kernel expects for this slot.
    public func data(in graph: Graph) -> Tensor {
        let value = graph.constants[name]!.contiguous()
        return packed ? PanelLayout.pack(value) : value
    }
}

/// Lowers a verified graph to one LLVM function that runs it, with loops over runtime dims, vector
/// math in IR, and OpenBLAS sgemm for matrix products.
final class GraphLowering {
    let graph: Graph
    let ir: IRBuilder
    let math: MathFunctions
    private var values: [ValueID: LoweredValue] = [:]
    private var dims: [String: LLVMValueRef] = [:]
    private var workspace: LLVMValueRef!
    private var workspaceCursor = 0
    private var errorBlock: LLVMBasicBlockRef!
    /// The block that returns `indexOutOfRange`.
    var errorBlockRef: LLVMBasicBlockRef { errorBlock }
    /// The kernel's entry block (its allocas, then a jump to the body).
    private var entryBlock: LLVMBasicBlockRef!
    private(set) var signature: RunSignature
    /// The kernel's constants argument, for loading packed slots where they are first used.
    private var constantsArg: LLVMValueRef!
    /// The kernel's thread pool argument (null: run serially).
    var pool: LLVMValueRef!
    /// The calling thread's task scratch (at the end of the workspace; placed once its size is known).
    var callerScratch: LLVMValueRef!
    /// The largest scratch any parallel loop needs per thread.
    var taskScratchBytes = 0
    /// Task functions emitted so far (for unique names).
    var taskCount = 0
    /// Constant nodes every user of which reads them as packed GEMM panels.
    private var packedOnly: Set<ValueID> = []
    /// Workspace buffers in use: id → (offset, bytes).
    private var liveBuffers: [Int: (offset: Int, bytes: Int)] = [:]
    private var nextBuffer = 0
    /// The buffer each allocation's base pointer belongs to (views keep their source's base).
    private var bufferOfBase: [LLVMValueRef: Int] = [:]
    /// The live values reading each buffer (a value, or views of it).
    private var readers: [Int: Set<ValueID>] = [:]
    /// Buffers allocated while lowering the current node.
    private var allocatedInNode: [Int] = []

    init(graph: Graph, ir: IRBuilder, name: String) {
        self.graph = graph
        self.ir = ir
        self.math = MathFunctions(ir: ir)
        signature = RunSignature(name: name + "_kernel", constants: [], workspaceBytes: 0, taskScratchBytes: 0)
    }

    /// The symbol bounds, for sizing the workspace.
    var maxBindings: [String: Int] { Dictionary(uniqueKeysWithValues: graph.symbols.map { ($0.name, $0.max) }) }

    /// Emits the run function.
    func lower() throws -> RunSignature {
        let type = ir.functionType(ir.i32, [ir.ptr, ir.ptr, ir.ptr, ir.ptr, ir.ptr, ir.ptr])
        let function = ir.function(signature.name, type)
        entryBlock = LLVMAppendBasicBlockInContext(ir.context, function, "entry")!
        let body = LLVMAppendBasicBlockInContext(ir.context, function, "body")!
        errorBlock = LLVMAppendBasicBlockInContext(ir.context, function, "index_error")!
        ir.position(at: errorBlock)
        ir.ret(ir.int32(RunSignature.indexOutOfRange))
        ir.position(at: body)
        let dimsArg = LLVMGetParam(function, 0)!, inputsArg = LLVMGetParam(function, 1)!
        let outputsArg = LLVMGetParam(function, 2)!
        constantsArg = LLVMGetParam(function, 3)!
        workspace = LLVMGetParam(function, 4)!
        pool = LLVMGetParam(function, 5)!
        // Placed at the end of the workspace once every allocation is known (operand 1 is patched).
        ir.position(at: entryBlock)
        callerScratch = ir.gep(ir.i8, workspace, ir.int(1))
        ir.position(at: body)
        packedOnly = packedWeights()
        for (i, s) in graph.symbols.enumerated() {
            dims[s.name] = ir.load(ir.i64, ir.gep(ir.i64, dimsArg, ir.int(i)))
        }
        var inputIndex = 0
        var lastUse: [ValueID: Int] = [:]
        for (i, node) in graph.nodes.enumerated() { for v in node.inputs { lastUse[v] = i } }
        for output in graph.outputs { lastUse[output.value] = Int.max }
        for (index, node) in graph.nodes.enumerated() {
            defer { release(after: node, at: index, lastUse: lastUse) }
            switch node.op {
            case .input:
                let p = ir.load(ir.ptr, ir.gep(ir.ptr, inputsArg, ir.int(inputIndex)))
                inputIndex += 1
                values[node.id] = fresh(node.type, base: p)
            case .constant(let name):
                // A weight read only as packed panels has no row-major slot (its users never read `base`).
                values[node.id] = fresh(node.type, base: packedOnly.contains(node.id) ? LLVMConstNull(ir.ptr)
                                        : constantPointer(ConstantSlot(name: name, packed: false)))
            case .primitive:
                let op = try node.op.concrete(maxBindings)
                do {
                    values[node.id] = try lower(node, op, node.inputs.map { values[$0]! })
                } catch let e as CodegenError {
                    throw CodegenError(e.message, at: node.location)
                }
            case .fused(let fused):
                do {
                    values[node.id] = try lower(node, fused, node.inputs.map { values[$0]! })
                } catch let e as CodegenError {
                    throw CodegenError(e.message, at: node.location)
                }
            }
        }
        for (i, output) in graph.outputs.enumerated() {
            let source = values[output.value]!
            let p = ir.load(ir.ptr, ir.gep(ir.ptr, outputsArg, ir.int(i)))
            let destination = fresh(graph.node(output.value)!.type, base: p)
            copy(source, into: destination)
        }
        ir.ret(ir.int32(0))
        // Allocas live in the entry block, which then jumps to the body.
        ir.position(at: entryBlock)
        ir.br(body)
        _ = ThreadPoolIR.parallelFunction(ir, prefix: signature.name)   // the pool exists even with no parallel loop
        LLVMSetOperand(callerScratch, 1, ir.int(workspaceCursor))
        signature.taskScratchBytes = taskScratchBytes
        signature.workspaceBytes = workspaceCursor + taskScratchBytes
        return signature
    }

    // MARK: Values and buffers

    /// A pointer to a constant slot's data, adding the slot on first use.
    func constantPointer(_ slot: ConstantSlot) -> LLVMValueRef {
        let index = signature.constants.firstIndex(of: slot) ?? {
            signature.constants.append(slot)
            return signature.constants.count - 1
        }()
        return ir.load(ir.ptr, ir.gep(ir.ptr, constantsArg, ir.int(index)))
    }

    /// The constant that is the weight (input 1) of a fused linear, if it is one: such weights are
    /// read as packed panels.
    func packedWeight(of node: Graph.Node) -> String? {
        guard case .fused(.linear) = node.op, let w = graph.node(node.inputs[1]),
              case .constant(let name) = w.op, w.type.shape.count == 2, w.type.dtype == .float32 else { return nil }
        return name
    }

    /// Constant nodes used only as packed linear weights (they need no row-major copy).
    private func packedWeights() -> Set<ValueID> {
        var users: [ValueID: [(Graph.Node, Int)]] = [:]
        for node in graph.nodes { for (i, input) in node.inputs.enumerated() { users[input, default: []].append((node, i)) } }
        for output in graph.outputs { users[output.value, default: []].append((graph.nodes[0], -1)) }
        var result: Set<ValueID> = []
        for node in graph.nodes {
            guard case .constant = node.op, let uses = users[node.id], !uses.isEmpty else { continue }
            if uses.allSatisfy({ user, index in index == 1 && packedWeight(of: user) != nil }) { result.insert(node.id) }
        }
        return result
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

    /// A new contiguous workspace buffer for a value of `type`, sized for the dim bounds. Buffers are
    /// reused by liveness: the first gap among the live buffers that fits (see `release`).
    func allocate(_ type: TensorType) -> LoweredValue {
        let count = type.shape.reduce(1) { $0 * max(0, $1.evaluate(maxBindings) ?? 0) }
        let bytes = (count * type.dtype.byteSize + 63) & ~63
        var offset = 0
        for block in liveBuffers.values.sorted(by: { $0.offset < $1.offset }) {
            if offset + bytes <= block.offset { break }
            offset = max(offset, block.offset + block.bytes)
        }
        let id = nextBuffer
        nextBuffer += 1
        liveBuffers[id] = (offset, bytes)
        allocatedInNode.append(id)
        workspaceCursor = max(workspaceCursor, offset + bytes)
        let base = ir.gep(ir.i8, workspace, ir.int(offset))
        bufferOfBase[base] = id
        return fresh(type, base: base)
    }

    /// After `node` is emitted: its temporaries are free; its result keeps (or, as a view, shares)
    /// a buffer while any reader is live; operands read for the last time release theirs. Emitted
    /// code runs in node order, so a freed buffer can hold the next node's values.
    private func release(after node: Graph.Node, at index: Int, lastUse: [ValueID: Int]) {
        let resultBuffer = values[node.id].flatMap { bufferOfBase[$0.base] }
        for id in allocatedInNode where id != resultBuffer { liveBuffers[id] = nil }
        allocatedInNode = []
        if let resultBuffer { readers[resultBuffer, default: []].insert(node.id) }
        var done = node.inputs.filter { lastUse[$0] == index }
        if lastUse[node.id] == nil { done.append(node.id) }
        for v in done {
            guard let buffer = values[v].flatMap({ bufferOfBase[$0.base] }) else { continue }
            readers[buffer]?.remove(v)
            if readers[buffer]?.isEmpty ?? true { liveBuffers[buffer] = nil }
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

    // MARK: Elementwise

    /// Loads the element of `v` at a broadcast position, converted to the computation's scalar type.
    func load(_ v: LoweredValue, strides: [LLVMValueRef], _ indices: [LLVMValueRef]) -> LLVMValueRef {
        var offset = v.offset
        for (i, s) in zip(indices, strides) { offset = ir.add(offset, ir.mul(i, s)) }
        return ir.load(v.dtype.llvmType(ir), ir.gep(v.dtype.llvmType(ir), v.base, offset))
    }

    /// `out[i] = compute(inputs at i)` over `outType`'s shape, with broadcasting.
    func elementwise(_ node: Graph.Node, _ inputs: [LoweredValue], _ compute: ([LLVMValueRef]) -> LLVMValueRef) -> LoweredValue {
        let out = allocate(node.type)
        let types = node.inputs.map { graph.node($0)!.type }
        let strides = zip(inputs, types).map { broadcastStrides($0, $1, to: node.type) }
        ir.loops(out.shape) { indices in
            let loaded = inputs.indices.map { load(inputs[$0], strides: strides[$0], indices) }
            ir.store(compute(loaded), address(out, indices))
        }
        return out
    }

    /// Copies `source` (same shape) into `destination`, both strided.
    func copy(_ source: LoweredValue, into destination: LoweredValue) {
        ir.loops(destination.shape) { indices in
            ir.store(load(source, strides: source.strides, indices), address(destination, indices))
        }
    }

    /// `v` itself when contiguous, else a contiguous copy.
    func contiguous(_ v: LoweredValue, _ type: TensorType) -> LoweredValue {
        if v.contiguous { return v }
        let out = allocate(type)
        copy(v, into: out)
        return out
    }

    // MARK: Scalar operations shared by unary, binary and scalar ops

    func toFloat(_ x: LLVMValueRef, from dtype: DType) -> LLVMValueRef {
        switch dtype {
        case .float32: x
        case .bool: ir.sitofp(ir.zext(x, ir.i32))
        default: ir.sitofp(x)
        }
    }

    func boolByte(_ bit: LLVMValueRef) -> LLVMValueRef { ir.zext(bit, ir.i8) }

    func unary(_ op: UnaryOp, _ x: LLVMValueRef, dtype: DType) -> LLVMValueRef {
        if dtype.isInteger && [.neg, .abs, .relu].contains(op) {
            let zero = LLVMConstInt(dtype.llvmType(ir), 0, 1)!
            switch op {
            case .neg: return ir.sub(zero, x)
            case .abs: return ir.select(ir.icmp(LLVMIntSLT, x, zero), ir.sub(zero, x), x)
            default: return ir.select(ir.icmp(LLVMIntSGT, x, zero), x, zero)
            }
        }
        if op == .logicalNot { return ir.xor(x, ir.byte(1)) }
        let v = toFloat(x, from: dtype)
        switch op {
        case .neg: return ir.fneg(v)
        case .exp: return math.apply(math.exp, v)
        case .log: return ir.intrinsic("llvm.log", [v])
        case .sqrt: return ir.intrinsic("llvm.sqrt", [v])
        case .rsqrt: return ir.fdiv(ir.float(1), ir.intrinsic("llvm.sqrt", [v]))
        case .abs: return ir.intrinsic("llvm.fabs", [v])
        case .tanh: return math.apply(math.tanh, v)
        case .erf: return math.apply(math.erf, v)
        case .relu: return ir.select(ir.fcmp(LLVMRealOGT, v, ir.float(0)), v, ir.float(0))
        case .sigmoid: return math.apply(math.sigmoid, v)
        case .gelu: return math.apply(math.gelu, v)
        case .geluTanh: return math.apply(math.geluTanh, v)
        case .sin: return ir.intrinsic("llvm.sin", [v])
        case .cos: return ir.intrinsic("llvm.cos", [v])
        case .logicalNot: return x
        }
    }

    func binary(_ op: BinaryOp, _ a: LLVMValueRef, _ b: LLVMValueRef, dtype: DType) -> LLVMValueRef {
        if op.isLogical { return op == .logicalAnd ? ir.and(a, b) : ir.or(a, b) }
        if dtype == .float32 || op == .div || op == .pow {
            let x = toFloat(a, from: dtype), y = toFloat(b, from: dtype)
            switch op {
            case .add: return ir.fadd(x, y)
            case .sub: return ir.fsub(x, y)
            case .mul: return ir.fmul(x, y)
            case .div: return ir.fdiv(x, y)
            case .pow: return ir.intrinsic("llvm.pow", [x, y])
            case .maximum, .minimum:
                let nan = ir.fcmp(LLVMRealUNO, x, y)
                let pick = ir.select(ir.fcmp(op == .maximum ? LLVMRealOGT : LLVMRealOLT, x, y), x, y)
                return ir.select(nan, ir.fadd(x, y), pick)
            case .equal: return boolByte(ir.fcmp(LLVMRealOEQ, x, y))
            case .notEqual: return boolByte(ir.fcmp(LLVMRealUNE, x, y))
            case .less: return boolByte(ir.fcmp(LLVMRealOLT, x, y))
            case .lessEqual: return boolByte(ir.fcmp(LLVMRealOLE, x, y))
            case .greater: return boolByte(ir.fcmp(LLVMRealOGT, x, y))
            case .greaterEqual: return boolByte(ir.fcmp(LLVMRealOGE, x, y))
            case .logicalAnd, .logicalOr: return a
            }
        }
        switch op {
        case .add: return ir.add(a, b)
        case .sub: return ir.sub(a, b)
        case .mul: return ir.mul(a, b)
        case .maximum: return ir.select(ir.icmp(LLVMIntSGT, a, b), a, b)
        case .minimum: return ir.select(ir.icmp(LLVMIntSLT, a, b), a, b)
        case .equal: return boolByte(ir.icmp(LLVMIntEQ, a, b))
        case .notEqual: return boolByte(ir.icmp(LLVMIntNE, a, b))
        case .less: return boolByte(ir.icmp(LLVMIntSLT, a, b))
        case .lessEqual: return boolByte(ir.icmp(LLVMIntSLE, a, b))
        case .greater: return boolByte(ir.icmp(LLVMIntSGT, a, b))
        case .greaterEqual: return boolByte(ir.icmp(LLVMIntSGE, a, b))
        default: return a
        }
    }

    /// A constant of `dtype` holding `value`.
    func constant(_ value: Double, _ dtype: DType) -> LLVMValueRef {
        switch dtype {
        case .float32: ir.float(Float(value))
        case .bool: ir.byte(value != 0 ? 1 : 0)
        default: LLVMConstInt(dtype.llvmType(ir), UInt64(bitPattern: Int64(value)), 1)
        }
    }

    func cast(_ x: LLVMValueRef, from: DType, to: DType) -> LLVMValueRef {
        if from == to { return x }
        switch (from, to) {
        case (.float32, .bool): return boolByte(ir.fcmp(LLVMRealUNE, x, ir.float(0)))
        case (_, .bool): return boolByte(ir.icmp(LLVMIntNE, x, LLVMConstInt(from.llvmType(ir), 0, 0)))
        case (_, .float32): return toFloat(x, from: from)
        case (.float32, _):
            let finite = ir.fcmp(LLVMRealOLT, ir.intrinsic("llvm.fabs", [x]), ir.float(.infinity))
            let safe = ir.select(finite, x, ir.float(0))
            return ir.fptosi(safe, to.llvmType(ir))
        case (.bool, _): return ir.zext(x, to.llvmType(ir))
        case (.int32, .int64): return ir.sext(x, ir.i64)
        default: return ir.trunc(x, to.llvmType(ir))
        }
    }
}
