import Foundation
/// Graphviz (DOT) export of a graph, for looking at what the tracer and the passes made.
public enum DOTExport {
    /// The graph as a DOT digraph: one box per node labelled with its op and type, inputs and
    /// outputs highlighted, constants dimmed.
    public static func dot(_ graph: Graph, name: String = "tcompile") -> String {
        func escape(_ s: String) -> String { s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") }
        var out = "digraph \"\(escape(name))\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n"
        for node in graph.nodes {
            let style: String
            var label = "%\(node.id) \(node.op.name)"
            switch node.op {
            case .input(let n): style = ", style=filled, fillcolor=\"#d0e8ff\""; label += " \(n)"
            case .constant(let n): style = ", color=gray, fontcolor=gray"; label += " \(n)"
            case .primitive, .fused:
                style = ""
                let attributes = node.op.attributes.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                if !attributes.isEmpty { label += "\\n" + escape(attributes) }
            }
            label += "\\n\(node.type)"
            out += "  n\(node.id) [label=\"\(escape(label).replacingOccurrences(of: "\\\\n", with: "\\n"))\"\(style)];\n"
            for input in node.inputs { out += "  n\(input) -> n\(node.id);\n" }
        }
        for (i, o) in graph.outputs.enumerated() {
            out += "  out\(i) [label=\"\(escape(o.name))\", shape=ellipse, style=filled, fillcolor=\"#d8f5d0\"];\n"
            out += "  n\(o.value) -> out\(i);\n"
        }
        return out + "}\n"
    }
}
