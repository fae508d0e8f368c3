import Tensors

/// What one op needs from the workspace, as the code generator's kernels declare it: whether its
/// result is a view of an operand (no buffer of its own), which operands it may overwrite with its
/// result, the contiguous copies it makes of strided operands, and the per-thread task scratch of
/// its parallel loops. `MemoryPlan` places buffers from this table alone, and the code generator
/// checks every request it makes against the plan, so the table and the kernels cannot drift apart
/// silently.
public struct KernelFootprint: Sendable, Equatable {
    /// The result aliases operand 0's buffer (reshape or `contiguous` of contiguous data, permute,
    /// expand, slice).
    public var isView = false
    /// Operands whose buffer the kernel may compute its result into. A kernel may overwrite an
    /// operand only when it reads each element before writing the same position and nothing else
    /// reads it afterwards: elementwise ops, softmax and layer norm do; log-softmax re-reads its
    /// input after writing the exponentials; a GEMM stores whole tiles before its epilogue reads
    /// the bias and residual, and attention reads Q, K and V across the whole result.
    public var mayOverwrite: [Int] = []
    /// The contiguous copies the kernel makes (strided operands it needs packed densely); they
    /// live only while the node runs.
    public var temporaries: [TensorType] = []
    /// Bytes of task scratch each thread needs while the kernel's parallel loop runs.
    public var scratchBytes = 0

    public init(isView: Bool = false, mayOverwrite: [Int] = [], temporaries: [TensorType] = [], scratchBytes: Int = 0) {
        self.isView = isView
        self.mayOverwrite = mayOverwrite
        self.temporaries = temporaries
        self.scratchBytes = scratchBytes
    }

    /// The footprint of `node` when its GEMMs run at `precision`; `strided(v)` says whether value `v`
    /// may be a strided view (not row-major contiguous), `bound` evaluates a dim at its upper bound.
    public static func of(_ node: Graph.Node, in graph: Graph, precision: Precision = .fp32, strided: (ValueID) -> Bool,
                          bound: (SymbolicInt) -> Int) -> KernelFootprint {
        let types = node.inputs.map { graph.node($0)!.type }
        /// Copies of the operands at `indices` that may be strided.
        func copies(_ indices: [Int]) -> [TensorType] {
            indices.filter { $0 < node.inputs.count && strided(node.inputs[$0]) }.map { types[$0] }
        }
        let width = PanelLayout.width
        switch node.op {
        case .input, .constant:
            return KernelFootprint()
        case .primitive(let op, _):
            switch op {
            case .unary, .binary, .binaryScalar, .select, .cast:
                return KernelFootprint(mayOverwrite: Array(node.inputs.indices))
            case .softmax:
                return KernelFootprint(mayOverwrite: [0])
            case .layerNorm(_, _, let affine):
                return KernelFootprint(mayOverwrite: [0], temporaries: copies(affine ? [0, 1, 2] : [0]))
            case .permute, .expand, .slice:
                return KernelFootprint(isView: true)
            case .reshape, .contiguous:
                return KernelFootprint(isView: !strided(node.inputs[0]))
            case .matmul:
                let k = types[0].shape.last.map(bound) ?? 0
                if precision == .bf16 {
                    return KernelFootprint(temporaries: copies([0]), scratchBytes: PanelLayout.bf16ScratchBytes(k: k, packsPanel: true))
                }
                return KernelFootprint(temporaries: copies([0]), scratchBytes: MemoryPlan.product(Swift.max(1, k), width * 4))
            default:
                return KernelFootprint()
            }
        case .fused(let fused):
            switch fused {
            case .elementwise:
                return KernelFootprint(mayOverwrite: Array(node.inputs.indices))
            case .layerNorm(_, let residual):
                let parameters = residual ? [2, 3] : [1, 2]
                return KernelFootprint(mayOverwrite: residual ? [0, 1] : [0], temporaries: copies(parameters))
            case .linear(_, let bias, _, _):
                // Panels in the precision's own format are read as stored; any other weight is packed per task.
                // Weights kept in f32 (`--keep-fp32`), and at int8 any weight not in int8 panels, run the f32 kernel.
                let format: PanelLayout.Format?
                if let w = graph.node(node.inputs[1]), case .constant(let name) = w.op { format = PanelLayout.format(ofConstant: name) } else { format = nil }
                let k = bound(types[1].shape[0])
                let temporaries = copies(bias ? [0, 2] : [0])
                switch (precision, format) {
                case (_, .f32Kept?):
                    return KernelFootprint(temporaries: temporaries)
                case (.bf16, _):
                    return KernelFootprint(temporaries: temporaries, scratchBytes: PanelLayout.bf16ScratchBytes(k: k, packsPanel: format != .bf16))
                case (.int8, .int8?):
                    return KernelFootprint(temporaries: temporaries, scratchBytes: PanelLayout.int8ScratchBytes(k: k))
                default:
                    let panels = format == PanelLayout.Format(precision)
                    return KernelFootprint(temporaries: temporaries, scratchBytes: panels ? 0 : MemoryPlan.product(k, width * 4))
                }
            case .attention(let a):
                let d = (types[0].shape.last?.constant ?? 0) / Swift.max(1, a.heads)
                let dv = (node.type.shape.last?.constant ?? 0) / Swift.max(1, a.heads)
                let t = a.kvLayout == .merged ? types[1].shape[1] : types[1].shape[2]
                let maxS = Swift.max(1, bound(types[0].shape[1])), maxT = Swift.max(1, bound(t))
                // Saturating (MemoryPlan.product): bounds from an untrusted graph may need more bytes
                // than exist, which code generation then reports instead of overflowing here.
                let pack = Swift.max(MemoryPlan.product(PanelLayout.panels(maxT), width * d), MemoryPlan.product(PanelLayout.panels(dv) * width, maxT))
                let scores = MemoryPlan.sum(MemoryPlan.product(maxS, maxT), 15) & ~15
                return KernelFootprint(temporaries: copies([0, 1, 2]), scratchBytes: MemoryPlan.product(MemoryPlan.sum(scores, pack), 4))
            }
        }
    }
}
