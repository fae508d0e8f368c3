import Graph
import Passes
import Tensors
import Testing

/// One small graph per pass: traced from eager code, run through the pass (after the passes it
/// relies on), printed against a golden file, and checked numerically at two dim values.
struct GoldenCase: CustomTestStringConvertible, @unchecked Sendable {
    let name: String
    let passes: [Pass]
    let inputs: @Sendable (Int, UInt64) -> [(name: String, tensor: Tensor)]
    let constants: [String: Tensor]
    let body: @Sendable ([String: Tensor]) -> [(name: String, tensor: Tensor)]
    var testDescription: String { name }

    func trace() throws -> Graph {
        let example = inputs(3, 1)
        let dims = example.flatMap { input in
            input.tensor.rank > 1 ? [DynamicDim(input: input.name, dim: 0, symbol: "n", max: 8)] : []
        }
        return try Tracer.trace(inputs: example, dynamicDims: dims, constants: constants, body)
    }
}

private let w34 = Tensor.randn([3, 4], std: 0.5, seed: 5)
private let w44 = Tensor.randn([4, 4], std: 0.5, seed: 6)
private let b4 = Tensor.randn([4], std: 0.1, seed: 7)
private let lnW = Tensor.randn([4], mean: 1, std: 0.1, seed: 8)
private let lnB = Tensor.randn([4], std: 0.1, seed: 9)

private func x4(_ n: Int, _ seed: UInt64) -> [(name: String, tensor: Tensor)] { [("x", Tensor.randn([n, 4], seed: seed))] }

let goldenCases: [GoldenCase] = [
    GoldenCase(name: "canonicalize", passes: [.canonicalize], inputs: { n, s in
        x4(n, s) + [("m", Tensor.randint(0, 2, shape: [n, 4], seed: s + 1).cast(to: .bool))]
    }, constants: [:]) { i in
        let x = i["x"]!, n = x.size(0)
        let scaled = ((x / 2) * 1 + 0).cast(to: .float32).reshaped([n, 2, 2]).reshaped([n, 4])
        let moved = scaled.transposed(0, 1).transposed(0, 1)
        let masked = moved.maskedFill(.!i["m"]!, -Float.greatestFiniteMagnitude).softmax(dim: -1)
        let gelu = 0.5 * x * (1.0 + (Float((2.0 / Double.pi).squareRoot()) * (x + 0.044715 * x.pow(3))).tanh())
        return [("y", masked), ("gelu", gelu)]
    },
    GoldenCase(name: "fold_constants", passes: [.foldConstants], inputs: x4, constants: ["w": w34, "b": b4]) { i in
        [("y", i["x"]!.matmul(w34.transposed().transposed(0, 1).transposed()) + (b4.sliced(dim: 0, start: 0, end: 3) * 2 + 1))]
    },
    GoldenCase(name: "cse", passes: [.cse], inputs: x4, constants: [:]) { i in
        let x = i["x"]!
        return [("y", x.exp() + x.exp() * Tensor(Float(2))), ("z", x.exp() * Tensor(Float(2)))]
    },
    GoldenCase(name: "dce", passes: [.dce], inputs: x4, constants: [:]) { i in
        let x = i["x"]!
        _ = x.tanh().exp()
        return [("y", x.relu())]
    },
    GoldenCase(name: "fuse_attention", passes: [.canonicalize, .foldConstants, .cse, .fuseAttention], inputs: { n, s in
        [("x", Tensor.randn([n, 3, 4], seed: s)), ("mask", Tensor((0..<(3 * n)).map { $0 == 3 * n - 1 ? 0 : 1 }, shape: [n, 3]))]
    }, constants: ["w": w44]) { i in
        let x = i["x"]!, b = x.size(0), s = x.size(1)
        func split(_ t: Tensor) -> Tensor { t.reshaped([b, s, 2, 2]).permuted([0, 2, 1, 3]) }
        let q = split(x.matmul(w44.transposed())), k = split(x), v = split(x * 2)
        let mask = (1 - i["mask"]!.unsqueezed(at: 1).unsqueezed(at: 1).cast(to: .float32)) * -10_000
        let p = (q.matmul(k.transposed(-1, -2)) / Float(2).squareRoot() + mask).softmax(dim: -1)
        return [("y", p.matmul(v).permuted([0, 2, 1, 3]).reshaped([b, s, 4]))]
    },
    GoldenCase(name: "fuse_epilogue", passes: [.canonicalize, .foldConstants, .fuseEpilogue], inputs: x4, constants: ["w": w44, "b": b4]) { i in
        let x = i["x"]!
        let h = (x.matmul(w44.transposed()) + b4).gelu(approximate: true) + x
        return [("y", h), ("r", (h.matmul(w44) + b4).relu())]
    },
    GoldenCase(name: "fuse_layer_norm", passes: [.canonicalize, .cse, .fuseLayerNorm], inputs: { n, s in
        x4(n, s) + [("r", Tensor.randn([n, 4], seed: s + 7))]
    }, constants: ["w": lnW, "b": lnB]) { i in
        let x = i["x"]!
        let u = x.mean(dim: -1, keepDim: true)
        let variance = (x - u).pow(2).mean(dim: -1, keepDim: true)
        let decomposed = lnW * ((x - u) / (variance + 1e-12).sqrt()) + lnB
        return [("decomposed", decomposed), ("residual", (decomposed + i["r"]!).layerNorm(weight: lnW, bias: lnB))]
    },
    GoldenCase(name: "fuse_elementwise", passes: [.fuseElementwise], inputs: x4, constants: ["b": b4]) { i in
        let x = i["x"]!
        let y = ((x * 2 + b4).exp() - 1).relu()
        return [("y", y), ("z", y.sum(dim: 1) * 3 + 1)]
    },
    GoldenCase(name: "pack_weights", passes: [.fuseEpilogue, .packWeights], inputs: x4, constants: ["w": w34]) { i in
        [("y", i["x"]!.matmul(w34.transposed()))]
    },
    GoldenCase(name: "plan_memory", passes: [.planMemory], inputs: x4, constants: ["w": w44]) { i in
        let x = i["x"]!
        let a = x.exp(), b = a.matmul(w44), c = (b + a).tanh(), d = c.matmul(w44).transposed()
        return [("y", d.softmax(dim: 0))]
    },
]

@Suite struct GoldenTests {
    @Test(arguments: goldenCases) func passOnSmallGraph(_ c: GoldenCase) throws {
        let input = try c.trace()
        let result = try runWithResult(input, c.passes)
        let output = result.graph
        let passes: String = c.passes.map(\.name).joined(separator: ", ")
        let before: String = "# input\n" + TextFormat.print(withoutLocations(input))
        let after: String = "# after " + passes + "\n" + TextFormat.print(withoutLocations(output))
        let text = before + after + (result.memoryPlan?.description ?? "")
        try expectGolden(text, c.name)
        try expectEquivalent(input, output, inputs: [c.inputs(2, 11), c.inputs(7, 12)], c.name)
    }

    @Test func canonicalFormsAreReached() throws {
        let g = try run(try goldenCases[0].trace(), [.canonicalize])
        #expect(count(g, "div_scalar") == 0 && count(g, "where") == 1 && count(g, "logical_not") == 0)
        #expect(count(g, "permute") == 0 && count(g, "reshape") == 0 && count(g, "cast") == 0)
        #expect(count(g, "gelu_tanh") == 1)
    }

    @Test func eachFusionFires() throws {
        func fused(_ name: String) throws -> Graph { try run(try goldenCases.first { $0.name == name }!.trace(), goldenCases.first { $0.name == name }!.passes) }
        #expect(count(try fused("fuse_attention"), "fused_attention") == 1)
        let epilogue = try fused("fuse_epilogue")
        #expect(count(epilogue, "fused_linear") == 2 && epilogue.computeNodeCount == 2)
        #expect(count(try fused("fuse_layer_norm"), "fused_layer_norm") == 2)
        let elementwise = try fused("fuse_elementwise")
        #expect(count(elementwise, "fused_elementwise") == 2)
        let packed = try fused("pack_weights")
        #expect(packed.constants.keys.contains("w.panels") && packed.constants["w.panels"]!.shape == [4, 3])
    }
}
