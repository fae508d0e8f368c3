import Foundation
import Graph
import Tensors

/// Weight packing: decides the layout GEMM weights are stored and read in. The weight of every
/// `fused_linear` that depends only on constants — a checkpoint tensor, or a transpose, reshape or
/// copy of one — becomes its own constant marked for the panel layout (`PanelLayout`, named
/// `<source constant>.panels`, or `.bf16panels` when compiling at bf16): the weights file stores it in
/// that format (`[panels][k][32]` f32, or `[panels][k/2][32][2]` bf16) and the GEMM emitter reads
/// those panels directly. The right operand of a plain `matmul` that is 2-D and
/// input-free becomes one contiguous `[k, n]` constant `<source constant>.packed` (the kernel packs
/// its panels per call, as for any matmul operand). A weight several layers share is packed once.
public enum WeightPacking {
    /// The rules for f32 panels.
    public static var rules: [RewriteRule] { rules(format: .f32) }

    /// The rules for panels of `format`, f32 for the weights whose source constant matches one of
    /// the `keepFP32` globs.
    public static func rules(format: PanelLayout.Format, keepFP32: [String] = []) -> [RewriteRule] { [pack(format, keepFP32: keepFP32)] }

    /// Whether the weight constant `name` matches the shell glob `pattern` (`*`, `?`, `[…]`, as
    /// `fnmatch`), by its checkpoint name (`checkpointName`).
    public static func matches(_ pattern: String, _ name: String) -> Bool { fnmatch(pattern, checkpointName(name), 0) == 0 }

    /// The checkpoint tensor a weight constant holds: its name without the `.T` constant folding gives
    /// the transposed view of a `Linear` weight.
    public static func checkpointName(_ name: String) -> String { name.hasSuffix(".T") ? String(name.dropLast(2)) : name }

    /// Throws, naming them, when some of `patterns` matched no weight of `graph` (after packing).
    public static func checkKept(_ patterns: [String], in graph: Graph) throws {
        guard !patterns.isEmpty else { return }
        let kept = graph.constants.keys.filter { PanelLayout.format(ofConstant: $0) == .f32Kept }.map(PanelLayout.sourceName(ofConstant:))
        let unmatched = patterns.filter { pattern in !kept.contains { matches(pattern, $0) } }
        guard unmatched.isEmpty else {
            let weights = graph.constants.keys.filter { PanelLayout.isPanelConstant($0) }
                .map { checkpointName(PanelLayout.sourceName(ofConstant: $0)) }.sorted()
            let sample = weights.prefix(3).joined(separator: ", ") + (weights.count > 3 ? ", …" : "")
            throw GraphError(.parse, "--keep-fp32 \(unmatched.map { "'\($0)'" }.joined(separator: ", ")) matches no weight of a linear layer (\(weights.count) weights, e.g. \(sample))")
        }
    }

    static func pack(_ format: PanelLayout.Format, keepFP32: [String]) -> RewriteRule { RewriteRule("pack weight") { rw, node in
        let linear: Bool
        switch node.op {
        case .fused(.linear): linear = true
        case .primitive(.matmul, _) where rw.type(node.inputs[1]).shape.count == 2: linear = false
        default: return nil
        }
        let w = node.inputs[1]
        let type = rw.type(w)
        if case .constant(let name) = rw.node(w).op, !linear || PanelLayout.isPanelConstant(name) { return nil }
        guard type.concreteShape([:]) != nil, rw.isInputFree(w), !linear || (type.shape.count == 2 && type.dtype == .float32),
              let value = rw.evaluate(w, [:]) else { return nil }
        var source = w
        while case .primitive = rw.node(source).op, let first = rw.node(source).inputs.first { source = first }
        let base = if case .constant(let n) = rw.node(source).op { n } else { "weight" }
        let kept = linear && keepFP32.contains { matches($0, base) }
        let name = base + (linear ? (kept ? PanelLayout.Format.f32Kept : format).suffix : ".packed")
        // Panels are packed through the strides (a transposed weight stays a view); a plain matmul's
        // right operand is read as rows.
        let data = withNoGrad { linear && value.isDense ? value.detached() : value.contiguousInSmallPages().detached() }
        // A weight shared by several layers (ALBERT) is packed once.
        let packed = rw.existingConstant(like: name, equalTo: data) ?? rw.addConstant(name, data)
        var inputs = node.inputs
        inputs[1] = packed
        return try rw.add(node.op, inputs)
    } }
}
