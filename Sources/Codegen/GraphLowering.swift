import CLLVM
import Graph
import Tensors

/// Lowers a verified graph to one LLVM function that runs it (`RunSignature`): sets up the kernel's
/// arguments and the `LoweringContext` (with the graph's `MemoryPlan`, which places every buffer),
/// walks the nodes in order and dispatches each op to its kernel family's emitter (`Kernels/`),
/// then copies the outputs out. The workspace is exactly the plan's arena.
final class GraphLowering {
    let graph: Graph
    let ir: IRBuilder
    let name: String
    /// The prefix of the pool functions (`ThreadPoolIR`) the kernel uses.
    let poolPrefix: String
    /// The arithmetic of the matrix products (`KernelSet`).
    let precision: Precision
    /// Rows of the f32 GEMM microkernel, from the target's vector registers (`LoweringContext.f32TileRows`).
    let f32TileRows: Int

    /// Lowers `graph` as `NAME_kernel` for `target`; `poolPrefix` names a pool shared with other kernels
    /// of the same module (default: the kernel's own, `NAME_kernel`).
    init(graph: Graph, ir: IRBuilder, name: String, poolPrefix: String? = nil, precision: Precision = .fp32,
         target: HostTarget = .host()) {
        self.f32TileRows = LoweringContext.f32TileRows(for: target)
        self.graph = graph
        self.ir = ir
        self.name = name + "_kernel"
        self.poolPrefix = poolPrefix ?? name + "_kernel"
        self.precision = precision
    }

    /// Emits the run function.
    func lower() throws -> RunSignature {
        let type = ir.functionType(ir.i32, [ir.ptr, ir.ptr, ir.ptr, ir.ptr, ir.ptr, ir.ptr])
        let function = ir.function(name, type)
        let entryBlock = LLVMAppendBasicBlockInContext(ir.context, function, "entry")!
        let body = LLVMAppendBasicBlockInContext(ir.context, function, "body")!
        let errorBlock = LLVMAppendBasicBlockInContext(ir.context, function, "index_error")!
        ir.position(at: errorBlock)
        ir.ret(ir.int32(RunSignature.indexOutOfRange))
        ir.position(at: body)
        let dimsArg = LLVMGetParam(function, 0)!, inputsArg = LLVMGetParam(function, 1)!
        let outputsArg = LLVMGetParam(function, 2)!
        // Placed at the end of the workspace once every allocation is known (operand 1 is patched).
        ir.position(at: entryBlock)
        let callerScratch = ir.gep(ir.i8, LLVMGetParam(function, 4)!, ir.int(1))
        ir.position(at: body)
        let cx = LoweringContext(graph: graph, ir: ir, kernelName: name, poolPrefix: poolPrefix, workspace: LLVMGetParam(function, 4)!,
                                 constants: LLVMGetParam(function, 3)!, pool: LLVMGetParam(function, 5)!,
                                 callerScratch: callerScratch, errorBlock: errorBlock, precision: precision,
                                 f32TileRows: f32TileRows)
        guard cx.plan.fitsInMemory else {
            let at = graph.symbols.map { "\($0.name)=\($0.max)" }.joined(separator: ", ")
            throw CodegenError("the workspace needs \(cx.plan.arenaBytes >= MemoryPlan.saturatedBytes ? "at least " : "")\(cx.plan.arenaBytes) bytes at the dims' bounds (\(at)), more than the \(MemoryPlan.maximumWorkspaceBytes) a process can address; lower the bounds")
        }
        let kernels = KernelSet.of(precision, cx)
        let packedOnly = packedWeights(cx)
        for (i, s) in graph.symbols.enumerated() {
            cx.dims[s.name] = ir.load(ir.i64, ir.gep(ir.i64, dimsArg, ir.int(i)))
        }
        let appends = inPlaceAppends()
        // Only what an output depends on runs, as in the interpreter: a graph compiled without the pass
        // pipeline (`-O0`, so no dead-code elimination) must not refuse a run over a dead gather whose
        // indices are out of range (fuzz-graph finding 6).
        var live = Set(graph.outputs.map(\.value))
        for node in graph.nodes.reversed() where live.contains(node.id) { live.formUnion(node.inputs) }
        var inputIndex = 0
        for node in graph.nodes {
            switch node.op {
            case .primitive, .fused: if !live.contains(node.id) { continue }
            case .input, .constant: break   // inputs keep their order; unused constants cost nothing
            }
            cx.begin(node)
            if let output = appends[node.id], case .primitive(.concat(let dim), _) = node.op {
                cx.values[node.id] = appendInPlace(node, dim: dim, into: ir.load(ir.ptr, ir.gep(ir.ptr, outputsArg, ir.int(output))), cx)
                continue
            }
            switch node.op {
            case .input:
                let p = ir.load(ir.ptr, ir.gep(ir.ptr, inputsArg, ir.int(inputIndex)))
                inputIndex += 1
                cx.values[node.id] = cx.fresh(node.type, base: p)
            case .constant(let name):
                // A weight read only as packed panels has no row-major slot (its users never read `base`).
                cx.values[node.id] = cx.fresh(node.type, base: packedOnly.contains(node.id) ? LLVMConstNull(ir.ptr)
                                              : cx.constantPointer(ConstantSlot(name: name, panels: nil)))
            case .primitive, .fused:
                do {
                    cx.values[node.id] = try lower(node, cx, kernels)
                } catch let e as CodegenError {
                    throw CodegenError(e.message, at: node.location)
                }
            }
        }
        for (i, output) in graph.outputs.enumerated() where appends[output.value] != i {
            let source = cx.values[output.value]!
            let p = ir.load(ir.ptr, ir.gep(ir.ptr, outputsArg, ir.int(i)))
            cx.copy(source, into: cx.fresh(graph.node(output.value)!.type, base: p))
        }
        ir.ret(ir.int32(0))
        // Allocas live in the entry block, which then jumps to the body.
        ir.position(at: entryBlock)
        ir.br(body)
        _ = ThreadPoolIR.parallelFunction(ir, prefix: poolPrefix)   // the pool exists even with no parallel loop
        if let mismatch = cx.planMismatches.first {
            throw CodegenError("internal: the memory plan and the kernels disagree: \(mismatch)")
        }
        LLVMSetOperand(callerScratch, 1, ir.int(cx.plan.scratchOffset))
        return RunSignature(name: name, constants: cx.constants, workspaceBytes: cx.plan.arenaBytes,
                            taskScratchBytes: cx.plan.scratchBytes)
    }

    /// Graph outputs (by value, with the index of their first output) that are a concatenation onto a
    /// graph input with every dim before the concatenated one 1, so that the input is a prefix of the
    /// result in memory: the position-major KV cache of a decode step (`GenerationGraphs`).
    private func inPlaceAppends() -> [ValueID: Int] {
        var result: [ValueID: Int] = [:]
        for (i, output) in graph.outputs.enumerated() where result[output.value] == nil {
            guard let node = graph.node(output.value), case .primitive(.concat(let dim), _) = node.op,
                  let first = node.inputs.first.flatMap({ graph.node($0) }), case .input = first.op,
                  node.type.shape.prefix(dim).allSatisfy({ $0.constant == 1 }) else { continue }
            result[output.value] = i
        }
        return result
    }

    /// Lowers the concatenation `node` (an `inPlaceAppends` output) straight into the caller's output
    /// buffer `target`: its first operand (a graph input) is copied only when the caller gave another
    /// buffer for it, so a caller that passes one buffer as both (a generation state's cache) has
    /// only the new positions written — no copy of the whole cache per step. The value read by later
    /// nodes (the attention's keys and values) is that buffer.
    private func appendInPlace(_ node: Graph.Node, dim: Int, into target: LLVMValueRef, _ cx: LoweringContext) -> LoweredValue {
        let x = node.inputs.map { cx.values[$0]! }
        let out = cx.fresh(node.type, base: target)
        let first = x[0]
        let address = ir.gep(ir.i8, first.base, ir.mul(first.offset, ir.int(first.dtype.byteSize)))
        let elsewhere = ir.icmp(LLVMIntNE, address, target)
        let copy = ir.block("append_copy_prefix"), rest = ir.block("append_rest")
        ir.condBr(elsewhere, copy, rest)
        ir.position(at: copy)
        var prefix = out
        prefix.shape = first.shape
        cx.copy(first, into: prefix)
        ir.br(rest)
        ir.position(at: rest)
        LayoutEmitter(context: cx).copyConcatenated(x.dropFirst(), into: out, dim: dim, from: first.shape[dim])
        return out
    }

    /// Dispatches one compute node to its kernel family.
    private func lower(_ node: Graph.Node, _ cx: LoweringContext, _ kernels: KernelSet) throws -> LoweredValue {
        let x = node.inputs.map { cx.values[$0]! }
        let types = node.inputs.map { cx.type(of: $0) }
        switch node.op {
        case .fused(let fused):
            switch fused {
            case .elementwise(let program):
                return try ElementwiseEmitter(context: cx).fused(node, program, x, types)
            case .linear(let activation, let hasBias, let hasResidual, _):
                return kernels.linearGEMM(node).linear(node, activation, x, types, bias: hasBias, residual: hasResidual)
            case .layerNorm(let eps, let hasResidual):
                return LayerNormEmitter(context: cx).fused(node, Float(eps), x, types, residual: hasResidual)
            case .attention(let attributes):
                return try kernels.attention.attention(node, attributes, x, types)
            }
        case .primitive:
            let op = try node.op.concrete(cx.maxBindings)
            let layout = LayoutEmitter(context: cx)
            switch op {
            case .unary, .binary, .binaryScalar, .select, .cast:
                return try ElementwiseEmitter(context: cx).primitive(node, op, x, types)
            case .contiguous:
                return layout.dense(node, x[0], types[0])
            case .fill(let value, _, let dtype):
                return CreationEmitter(context: cx).fill(node, value, dtype)
            case .arange(_, _, let step, let dtype):
                return try CreationEmitter(context: cx).arange(node, step: step, dtype)
            case .reshape:
                return layout.reshape(node, x[0], types[0])
            case .permute(let perm):
                return layout.permute(x[0], perm)
            case .expand:
                return layout.expand(node, x[0], types[0])
            case .slice(let dim, _, _, let step):
                return try layout.slice(node, x[0], types[0], dim: dim, step: step)
            case .concat(let dim):
                return layout.concat(node, x, dim: dim)
            case .reduce(let r, let dims, _):
                return ReductionEmitter(context: cx).reduce(node, r, dims, x[0])
            case .attention:
                // `ModuleBuilder` decomposes it before lowering (`Graph.decomposingAttention`).
                throw CodegenError("attention reached the code generator undecomposed")
            case .softmax(let dim):
                return SoftmaxEmitter(context: cx).softmax(node, x[0], dim: dim, log: false)
            case .logSoftmax(let dim):
                return SoftmaxEmitter(context: cx).softmax(node, x[0], dim: dim, log: true)
            case .layerNorm(let rank, let eps, let affine):
                let input = cx.contiguous(x[0], types[0])
                return LayerNormEmitter(context: cx).primitive(node, input, rank: rank, eps: Float(eps),
                                                               weight: affine ? cx.contiguous(x[1], types[1]) : nil,
                                                               bias: affine ? cx.contiguous(x[2], types[2]) : nil)
            case .matmul:
                return kernels.gemm.matmul(node, x[0], types[0], x[1], types[1])
            case .indexSelect(let dim):
                return GatherEmitter(context: cx).indexSelect(node, x[0], x[1], dim: dim)
            case .gather(let dim):
                return GatherEmitter(context: cx).gather(node, x[0], x[1], dim: dim)
            }
        case .input, .constant:
            preconditionFailure("inputs and constants are not kernels")
        }
    }

    /// Constant nodes used only as panel-packed linear weights (they need no row-major copy).
    private func packedWeights(_ cx: LoweringContext) -> Set<ValueID> {
        var users: [ValueID: [(Graph.Node, Int)]] = [:]
        for node in graph.nodes { for (i, input) in node.inputs.enumerated() { users[input, default: []].append((node, i)) } }
        for output in graph.outputs { users[output.value, default: []].append((graph.nodes[0], -1)) }
        var result: Set<ValueID> = []
        for node in graph.nodes {
            guard case .constant = node.op, let uses = users[node.id], !uses.isEmpty else { continue }
            if uses.allSatisfy({ user, index in index == 1 && cx.packedWeight(of: user) != nil }) { result.insert(node.id) }
        }
        return result
    }
}

extension LoweringContext {
    /// The weight (input 1) of a fused linear when `pack-weights` gave it the panel format of this
    /// kernel's precision (`PanelLayout.format(ofConstant:)`), or kept it in f32 (`--keep-fp32`): it is
    /// stored and read as such panels.
    /// A weight in another format is read row-major and packed per task (`ModuleBuilder` retargets
    /// the marks first, so that happens only for a graph lowered directly).
    func packedWeight(of node: Graph.Node) -> String? {
        guard case .fused(.linear) = node.op, let w = graph.node(node.inputs[1]), case .constant(let name) = w.op,
              let format = PanelLayout.format(ofConstant: name), format == PanelLayout.Format(precision) || format == .f32Kept,
              w.type.shape.count == 2,
              w.type.dtype == .float32 else { return nil }
        return name
    }
}
