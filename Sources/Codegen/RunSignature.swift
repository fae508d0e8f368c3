import Graph
import Tensors

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
    /// The panel format it is stored in (`PanelLayout.Format`, named by the constant's suffix), or
    /// nil for the graph's row-major `[k, n]`.
    public var panels: PanelLayout.Format?

    public init(name: String, panels: PanelLayout.Format?) {
        self.name = name
        self.panels = panels
    }

    /// The bytes the kernel expects for this slot (panels shared with other compiled graphs of the
    /// same weight: `SharedPanels`).
    public func data(in graph: Graph) -> Tensor {
        let value = graph.constants[name]!
        return panels.map { SharedPanels.panels(of: value, format: $0) } ?? value.contiguousInSmallPages()
    }

    /// The same bytes as `data(in:)`, produced in pieces (the weights file is streamed this way).
    func bytes(in graph: Graph) -> ConstantBytes {
        let value = graph.constants[name]!
        return panels.map { .panels(value, $0) } ?? .tensor(value.contiguousInSmallPages())
    }
}
