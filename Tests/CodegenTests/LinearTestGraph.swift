import Graph
import Tensors

/// The one-`fused_linear` graph the reduced-precision GEMM tests compile: `activation(x · w + bias) +
/// residual` with `x` `[m, k]` (`m` dynamic up to 65) and the weight constant named `weightName`.
enum LinearTestGraph {
    static func make(_ activation: FusedOp.Activation, bias: Bool, residual: Bool, w: Tensor, b: Tensor,
                     weightName: String) throws -> Graph {
        let k = w.shape[0], n = w.shape[1]
        var g = GraphBuilder(symbols: [DimSymbol("m", max: 65)])
        let m = SymbolicInt(symbol: "m")
        let x = g.input("x", TensorType(.float32, [m, SymbolicInt(k)]))
        var inputs = [x, g.constant(weightName, w)]
        if bias { inputs.append(g.constant("b", b)) }
        if residual { inputs.append(g.input("r", TensorType(.float32, [m, SymbolicInt(n)]))) }
        g.output("y", try g.add(.fused(.linear(activation: activation, bias: bias, residual: residual)), inputs))
        return g.graph
    }
}
