import Testing
import Graph
import Tensors
@testable import Codegen

/// The bf16 GEMM kernels (`BF16GEMMEmitter`, `vdpbf16ps`) against two references on odd shapes (k and
/// n not multiples of 2 or 32; m = 1, 7, 65):
/// - the f32 interpreter on operands rounded to bf16 first (what the kernel must compute, up to the
///   order of f32 additions): within 2e-5 · Σ|a||b|;
/// - the f32 interpreter on the operands as they are: within the format's bound. Each product of two
///   values rounded to 8-bit mantissas (unit roundoff 2^-9) is off by at most 2^-8 of itself, so an
///   output is off by at most 2^-8 · Σₖ|a||b| (times the activation's slope, ≤ 1.13 for GELU).
///   Random signs make the typical error ≈ 2^-8 · sqrt(k) · the typical product; the bound holds for
///   every element, and a wrong pairing or panel layout is off by Σ-sized amounts, far beyond it.
/// Both run only on a CPU with AVX512-BF16 (skipped, saying so, elsewhere).
@Suite(.enabled(if: HostTarget.host().has("avx512bf16"), "the host CPU lacks avx512bf16 (AVX512-BF16), which the bf16 kernels need"))
struct BF16GEMMTests {
    static let options = CompileOptions(cache: nil, precision: .bf16)
    static let k = 37, n = 45, rows = [1, 7, 65]

    /// Every element rounded to bf16 (nearest even, as the kernel rounds).
    static func rounded(_ t: Tensor) -> Tensor {
        Tensor(t.contiguous().toFloatArray().map { PanelLayout.float(bfloat16: PanelLayout.bfloat16Bits($0)) }, shape: t.shape)
    }

    /// Compares `actual` with the f32 result on rounded operands (`emulated`) and on exact ones
    /// (`exact`); `scale` is Σ|a||b| per element; `slope` the activation's largest slope. Returns the
    /// largest difference from the exact result.
    @discardableResult
    static func check(_ actual: [Float], emulated: [Float], exact: [Float], scale: [Float], slope: Float = 1.13,
                      _ what: String) -> Float {
        #expect(actual.count == exact.count && actual.count == emulated.count && actual.count == scale.count, "\(what): sizes")
        var worstExact: Float = 0
        for i in actual.indices {
            let tight = 2e-5 * scale[i] + 1e-5 * (1 + Swift.abs(emulated[i]))
            let format = slope * (Float(1) / 256) * scale[i] * 1.01 + 1e-5 * (1 + Swift.abs(exact[i]))
            let dEmulated = Swift.abs(actual[i] - emulated[i]), dExact = Swift.abs(actual[i] - exact[i])
            if !(dEmulated <= tight) { Issue.record("\(what): element \(i) is \(actual[i]), bf16-rounded reference \(emulated[i]) (bound \(tight))"); return dExact }
            if !(dExact <= format) { Issue.record("\(what): element \(i) is \(actual[i]), f32 reference \(exact[i]) (bound \(format))"); return dExact }
            worstExact = Swift.max(worstExact, dExact)
        }
        return worstExact
    }

    @Test(arguments: FusedOp.Activation.allCases)
    func fusedLinearWithEveryEpilogue(_ activation: FusedOp.Activation) throws {
        let w = Tensor.randn([Self.k, Self.n], seed: 5), b = Tensor.randn([Self.n], seed: 6)
        for (bias, residual) in [(false, false), (true, false), (false, true), (true, true)] {
            // Panels packed at compile time (the pass's mark), and a weight packed per task (no mark).
            for weightName in ["w.bf16panels", "w"] {
                let graph = try LinearTestGraph.make(activation, bias: bias, residual: residual, w: w, b: b, weightName: weightName)
                let compiled = try CompiledModel(graph: graph, name: "bf16linear", options: Self.options)
                let emulatedGraph = try LinearTestGraph.make(activation, bias: bias, residual: residual, w: Self.rounded(w), b: b, weightName: weightName)
                for m in Self.rows {
                    var inputs = ["x": Tensor.randn([m, Self.k], seed: UInt64(m))]
                    if residual { inputs["r"] = Tensor.randn([m, Self.n], seed: UInt64(m + 100)) }
                    var roundedInputs = inputs
                    roundedInputs["x"] = Self.rounded(inputs["x"]!)
                    let actual = try compiled(inputs)["y"]!.toFloatArray()
                    let exact = try Interpreter(graph: graph).run(inputs)["y"]!.toFloatArray()
                    let emulated = try Interpreter(graph: emulatedGraph).run(roundedInputs)["y"]!.toFloatArray()
                    let scale = inputs["x"]!.abs().matmul(w.abs()).toFloatArray()
                    let what = "\(activation) bias \(bias) residual \(residual) \(weightName) m \(m)"
                    Self.check(actual, emulated: emulated, exact: exact, scale: scale, what)
                    // Really bf16: some element differs from the f32 result.
                    #expect(zip(actual, exact).contains { $0 != $1 }, "\(what): identical to f32, so not computed in bf16")
                }
            }
        }
    }

    /// A batched matmul of two inputs (both rounded at run time), B also transposed (strided).
    @Test(arguments: [false, true])
    func batchedMatmul(transposedB: Bool) throws {
        var g = GraphBuilder(symbols: [DimSymbol("m", max: 65)])
        let m = SymbolicInt(symbol: "m")
        let a = g.input("a", TensorType(.float32, [2, m, SymbolicInt(Self.k)]))
        let bShape: [SymbolicInt] = transposedB ? [2, SymbolicInt(Self.n), SymbolicInt(Self.k)] : [2, SymbolicInt(Self.k), SymbolicInt(Self.n)]
        var b = g.input("b", TensorType(.float32, bShape))
        if transposedB { b = try g.add(.permute([0, 2, 1]), [b]) }
        g.output("y", try g.add(.matmul, [a, b]))
        let graph = g.graph
        let compiled = try CompiledModel(graph: graph, name: "bf16matmul", options: Self.options)
        for rows in Self.rows {
            let inputs = ["a": Tensor.randn([2, rows, Self.k], seed: UInt64(rows)),
                          "b": Tensor.randn(transposedB ? [2, Self.n, Self.k] : [2, Self.k, Self.n], seed: UInt64(rows + 7))]
            let actual = try compiled(inputs)["y"]!.toFloatArray()
            let exact = try Interpreter(graph: graph).run(inputs)["y"]!.toFloatArray()
            let emulated = try Interpreter(graph: graph).run(inputs.mapValues(Self.rounded))["y"]!.toFloatArray()
            let bMatrix = transposedB ? inputs["b"]!.transposed() : inputs["b"]!
            let scale = inputs["a"]!.abs().matmul(bMatrix.abs()).toFloatArray()
            Self.check(actual, emulated: emulated, exact: exact, scale: scale, slope: 1, "matmul m \(rows) transposed \(transposedB)")
            #expect(zip(actual, exact).contains { $0 != $1 }, "m \(rows): identical to f32, so not computed in bf16")
        }
    }

    /// The weights writer's bf16 panels: pairs of rows side by side, rounded to nearest even, zero padded.
    @Test func bf16PanelLayout() throws {
        let w = Tensor.randn([5, 33], seed: 9)
        let packed = PanelLayout.pack(w, format: .bf16)
        #expect(packed.shape == [2, 3, 32] && packed.dtype == .int32)
        let words = (0..<packed.count).map { UInt32(bitPattern: packed.pointer(as: Int32.self)[$0]) }
        let values = w.toFloatArray()
        for panel in 0..<2 {
            for pair in 0..<3 {
                for j in 0..<32 {
                    let word = words[(panel * 3 + pair) * 32 + j]
                    let column = panel * 32 + j
                    let low: UInt16 = column < 33 ? PanelLayout.bfloat16Bits(values[2 * pair * 33 + column]) : 0
                    let high: UInt16 = column < 33 && 2 * pair + 1 < 5 ? PanelLayout.bfloat16Bits(values[(2 * pair + 1) * 33 + column]) : 0
                    #expect(word == UInt32(low) | UInt32(high) << 16, "panel \(panel) pair \(pair) column \(j)")
                }
            }
        }
        // Ties go to the even neighbour, as torch rounds; NaN stays NaN.
        #expect(PanelLayout.bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)
        #expect(PanelLayout.bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        #expect(PanelLayout.bfloat16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(PanelLayout.float(bfloat16: PanelLayout.bfloat16Bits(.nan)).isNaN)
    }
}

/// A reduced precision is refused, naming the missing feature, where the target cannot run it: never a
/// silent f32 fallback.
@Suite struct ReducedPrecisionRefusalTests {
    static func linear() throws -> Graph {
        var g = GraphBuilder()
        let x = g.input("x", TensorType(.float32, [3, 4]))
        let w = g.constant("w.bf16panels", Tensor.randn([4, 5], seed: 1))
        g.output("y", try g.add(.fused(.linear(activation: .none, bias: false, residual: false)), [x, w]))
        return g.graph
    }

    @Test(arguments: [Precision.bf16, .int8])
    func aTargetWithoutTheFeatureIsRefused(_ precision: Precision) throws {
        let feature = try #require(precision.requiredFeature), cpuinfoName = try #require(precision.requiredFeatureCPUInfoName)
        let host = HostTarget.host()
        let features = host.features.split(separator: ",").filter { $0 != "+\(feature)" }.map(String.init) + ["-\(feature)"]
        let target = HostTarget(triple: host.triple, cpu: host.cpu, features: features.joined(separator: ","))
        let graph = try Self.linear()
        for options in [CompileOptions(target: target, cache: nil, precision: precision), CompileOptions(target: .portable(), cache: nil, precision: precision)] {
            do {
                _ = try CompiledModel(graph: graph, name: "refused", options: options)
                Issue.record("\(precision) compiled for \(options.target.cpu) without \(feature)")
            } catch let error as CodegenError {
                #expect(error.message.contains(feature) && error.message.contains(cpuinfoName), "\(error.message)")
            }
            #expect(throws: CodegenError.self) { try CompiledArtifacts.object(graph, name: "refused", options: options) }
        }
        // fp32 on the same target compiles (the weight marked for another precision is stored as f32 panels).
        _ = try CompiledModel(graph: graph, name: "f32", options: CompileOptions(target: target, cache: nil))
    }

    @Test func anUnknownPrecisionNamesTheAcceptedOnes() {
        do {
            _ = try Precision(parsing: "fp16")
            Issue.record("fp16 accepted")
        } catch let error as GraphError {
            #expect(error.message.contains("fp32, bf16, int8"), "\(error.message)")
        } catch { Issue.record("\(error)") }
    }
}
