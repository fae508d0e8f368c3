import Testing
import Graph
import Tensors
@testable import Codegen

/// The int8 GEMM kernels (`Int8GEMMEmitter`, `vpdpbusd`) against two references on odd shapes (k and
/// n not multiples of 4 or 32; m = 1, 3 (weight-only: A stays f32), 7, 65):
/// - the f32 interpreter on operands quantized and dequantized first, the activations per row
///   (asymmetric, u8 with a zero point) and the weight per column (symmetric int8), as the kernel must (the kernel's integer sums are exact, so only the
///   order of the interpreter's f32 additions differs): within 2e-5 · Σ|a||b|;
/// - the f32 interpreter on the operands as they are: within the format's bound. Rounding to a step
///   (the row's range / 255, the column's max / 127) moves a value by at most half a step, so a product `x·w` is off by at most
///   `|x|·s_w/2 + s_x/2·|w| (+ s_x·s_w/4)`, summed over `k` (times the activation's slope, ≤ 1.13).
///   A wrong quad, correction or scale is off by far more.
/// They run only on a CPU with AVX512-VNNI (skipped, saying so, elsewhere).
@Suite(.enabled(if: HostTarget.host().has("avx512vnni"), "the host CPU lacks avx512vnni (AVX512-VNNI), which the int8 kernels need"))
struct Int8GEMMTests {
    static let options = CompileOptions(cache: nil, precision: .int8)
    static let k = 37, n = 45, rows = [1, 3, 7, 65]

    /// `[m, k]` rows quantized and dequantized as the kernel does: over the row's range widened to hold
    /// 0, `u = clamp(rint(x · 255/(hi − lo)) + z, 0, 255)` with `z = rint(−lo · 255/(hi − lo))`, back as
    /// `(u − z) · (hi − lo)/255`.
    static func perRow(_ t: Tensor) -> (values: Tensor, steps: [Float]) {
        let m = t.shape[0], k = t.shape[1], x = t.contiguous().toFloatArray()
        var out = x, steps: [Float] = []
        for i in 0..<m {
            let row = x[(i * k)..<((i + 1) * k)]
            let lo = Swift.min(0, row.min() ?? 0), hi = Swift.max(0, row.max() ?? 0)
            let range = hi - lo
            let inverse: Float = range > 0 ? 255 / range : 0, scale = range / 255
            let z = Swift.min(Swift.max((-lo * inverse).rounded(.toNearestOrEven), 0), 255)
            for e in 0..<k {
                let u = Swift.min(Swift.max((x[i * k + e] * inverse).rounded(.toNearestOrEven) + z, 0), 255)
                out[i * k + e] = (u - z) * scale
            }
            steps.append(scale)
        }
        return (Tensor(out, shape: t.shape), steps)
    }

    /// A `[k, n]` weight quantized and dequantized per column (`PanelLayout.quantize`).
    static func perColumn(_ w: Tensor) -> (values: Tensor, steps: [Float]) {
        let k = w.shape[0], n = w.shape[1], x = w.contiguous().toFloatArray()
        var out = x, steps: [Float] = []
        for j in 0..<n {
            let scale = (0..<k).map { Swift.abs(x[$0 * n + j]) }.max()! / 127
            for i in 0..<k { out[i * n + j] = Float(PanelLayout.quantize(x[i * n + j], scale: scale)) * scale }
            steps.append(scale)
        }
        return (Tensor(out, shape: w.shape), steps)
    }

    /// Compares `actual` with the result on quantized operands (`emulated`, bound `tight`) and on exact
    /// ones (`exact`, bound `format`).
    static func check(_ actual: [Float], emulated: [Float], exact: [Float], tight: [Float], format: [Float], _ what: String) {
        #expect(actual.count == exact.count && actual.count == emulated.count, "\(what): sizes")
        for i in actual.indices {
            let dEmulated = Swift.abs(actual[i] - emulated[i]), dExact = Swift.abs(actual[i] - exact[i])
            let tightBound = tight[i] + 1e-5 * (1 + Swift.abs(emulated[i])), formatBound = format[i] + 1e-5 * (1 + Swift.abs(exact[i]))
            if !(dEmulated <= tightBound) { Issue.record("\(what): element \(i) is \(actual[i]), quantized reference \(emulated[i]) (bound \(tightBound))"); return }
            if !(dExact <= formatBound) { Issue.record("\(what): element \(i) is \(actual[i]), f32 reference \(exact[i]) (bound \(formatBound))"); return }
        }
    }

    @Test(arguments: FusedOp.Activation.allCases)
    func fusedLinearWithEveryEpilogue(_ activation: FusedOp.Activation) throws {
        // Columns of very different sizes (a per-tensor scale would flatten the small ones).
        let w = Tensor.randn([Self.k, Self.n], seed: 5) * Tensor((0..<Self.n).map { Float(1 + $0 % 7) / 3 }, shape: [Self.n])
        let b = Tensor.randn([Self.n], seed: 6)
        let (wq, wSteps) = Self.perColumn(w)
        for (bias, residual) in [(false, false), (true, false), (false, true), (true, true)] {
            let graph = try LinearTestGraph.make(activation, bias: bias, residual: residual, w: w, b: b, weightName: "w.int8panels")
            let compiled = try CompiledModel(graph: graph, name: "int8linear", options: Self.options)
            let emulatedGraph = try LinearTestGraph.make(activation, bias: bias, residual: residual, w: wq, b: b, weightName: "w")
            for m in Self.rows {
                // Rows of very different sizes too.
                // Rows of very different sizes too; from 7 rows on, one row all positive (as after ReLU,
                // where the zero point is 0) and one all zeros (a zero scale).
                var values = (Tensor.randn([m, Self.k], seed: UInt64(m)) * Tensor((0..<m).map { Float(1 + $0 % 5) }, shape: [m, 1])).toFloatArray()
                if m >= 7 {
                    for e in 0..<Self.k { values[2 * Self.k + e] = Swift.abs(values[2 * Self.k + e]); values[3 * Self.k + e] = 0 }
                }
                let x = Tensor(values, shape: [m, Self.k])
                var inputs = ["x": x]
                if residual { inputs["r"] = Tensor.randn([m, Self.n], seed: UInt64(m + 100)) }
                // Up to 4 rows (decoding) the kernel is weight-only: A is not quantized.
                let (xq, xSteps) = m <= 4 ? (x, [Float](repeating: 0, count: m)) : Self.perRow(x)
                var quantized = inputs
                quantized["x"] = xq
                let actual = try compiled(inputs)["y"]!.toFloatArray()
                let exact = try Interpreter(graph: graph).run(inputs)["y"]!.toFloatArray()
                let emulated = try Interpreter(graph: emulatedGraph).run(quantized)["y"]!.toFloatArray()
                let scale = x.abs().matmul(w.abs()).toFloatArray()
                let xAbs = x.abs().sum(dims: [1]).toFloatArray(), wAbs = w.abs().sum(dims: [0]).toFloatArray()
                var format = [Float](repeating: 0, count: m * Self.n)
                for i in 0..<m {
                    for j in 0..<Self.n {
                        let bound = xAbs[i] * wSteps[j] / 2 + xSteps[i] / 2 * wAbs[j] + Float(Self.k) * xSteps[i] * wSteps[j] / 4
                        format[i * Self.n + j] = 1.13 * bound * 1.01
                    }
                }
                let what = "\(activation) bias \(bias) residual \(residual) m \(m)"
                Self.check(actual, emulated: emulated, exact: exact, tight: scale.map { 2e-5 * $0 }, format: format, what)
                #expect(zip(actual, exact).contains { $0 != $1 }, "\(what): identical to f32, so not computed in int8")
            }
        }
    }

    /// A calibrated input range (static quantization): every row quantized with the range's one scale
    /// and zero point, values beyond it clamped, against the same emulated on the interpreter.
    @Test func staticInputRange() throws {
        let w = Tensor.randn([Self.k, Self.n], seed: 5), b = Tensor.randn([Self.n], seed: 6)
        let range: ClosedRange<Float> = -2.5...3.0
        var g = GraphBuilder(symbols: [DimSymbol("m", max: 65)])
        let m = SymbolicInt(symbol: "m")
        let x = g.input("x", TensorType(.float32, [m, SymbolicInt(Self.k)]))
        g.output("y", try g.add(.fused(.linear(activation: .gelu, bias: true, residual: false, inputRange: range)),
                                [x, g.constant("w.int8panels", w), g.constant("b", b)]))
        let graph = g.graph
        // The range survives the text form (and so the cache key and model.json).
        let text = TextFormat.print(graph)
        #expect(text.contains("input_range"), "\(text)")
        let reparsed = try TextFormat.parse(text, constants: graph.constants)
        #expect(reparsed.nodes.map(\.op) == graph.nodes.map(\.op))
        let compiled = try CompiledModel(graph: graph, name: "int8static", options: Self.options)
        let (wq, _) = Self.perColumn(w)
        let (scale, inverse, zero) = Int8TiledGEMM.staticQuantization(range)
        for rows in [7, 65] {
            let input = Tensor.randn([rows, Self.k], seed: UInt64(rows)) * Tensor(1.5)   // some values beyond the range
            let xq = Tensor(input.toFloatArray().map { (Swift.min(Swift.max(($0 * inverse).rounded(.toNearestOrEven) + Float(zero), 0), 255) - Float(zero)) * scale },
                            shape: input.shape)
            let expected = try Interpreter(graph: graph).run(["x": xq])["y"]!.toFloatArray()
            var emulated = graph
            emulated.constants["w.int8panels"] = wq
            let reference = try Interpreter(graph: emulated).run(["x": xq])["y"]!.toFloatArray()
            let actual = try compiled(["x": input])["y"]!.toFloatArray()
            let scaleSums = xq.abs().matmul(wq.abs()).toFloatArray()
            for i in actual.indices {
                #expect(Swift.abs(actual[i] - reference[i]) <= 1.13 * 2e-5 * scaleSums[i] + 1e-5 * (1 + Swift.abs(reference[i])),
                        "rows \(rows) element \(i): \(actual[i]) vs \(reference[i]) (unquantized weights: \(expected[i]))")
            }
        }
    }

    /// A weight without int8 panels (computed from an input) and a matmul of two activations run in f32.
    @Test func productsOfActivationsStayF32() throws {
        var g = GraphBuilder(symbols: [DimSymbol("m", max: 65)])
        let m = SymbolicInt(symbol: "m")
        let a = g.input("a", TensorType(.float32, [m, SymbolicInt(Self.k)]))
        let b = g.input("b", TensorType(.float32, [SymbolicInt(Self.k), SymbolicInt(Self.n)]))
        g.output("y", try g.add(.matmul, [a, b]))
        g.output("z", try g.add(.fused(.linear(activation: .none, bias: false, residual: false)), [a, b]))
        let graph = g.graph
        let compiled = try CompiledModel(graph: graph, name: "int8f32", options: Self.options)
        let inputs = ["a": Tensor.randn([7, Self.k], seed: 1), "b": Tensor.randn([Self.k, Self.n], seed: 2)]
        let actual = try compiled(inputs), exact = try Interpreter(graph: graph).run(inputs)
        for name in ["y", "z"] {
            for (x, y) in zip(actual[name]!.toFloatArray(), exact[name]!.toFloatArray()) {
                #expect(Swift.abs(x - y) <= 1e-4 * (1 + Swift.abs(y)), "\(name): \(x) vs \(y)")
            }
        }
    }

    /// The weights writer's int8 panels: scales, column sums, then four rows per int32, zero padded.
    @Test func int8PanelLayout() throws {
        let w = Tensor.randn([6, 33], seed: 9)
        let packed = PanelLayout.pack(w, format: .int8)
        #expect(packed.shape == [2, 4, 32] && packed.dtype == .int32)
        #expect(PanelLayout.packedByteCount([6, 33], format: .int8) == packed.count * 4)
        let words = (0..<packed.count).map { UInt32(bitPattern: packed.pointer(as: Int32.self)[$0]) }
        let values = w.toFloatArray()
        for panel in 0..<2 {
            let base = panel * 4 * 32
            for j in 0..<32 {
                let column = panel * 32 + j
                guard column < 33 else {
                    #expect(words[base + j] == 0 && words[base + 32 + j] == 0 && words[base + 64 + j] == 0 && words[base + 96 + j] == 0)
                    continue
                }
                let largest = (0..<6).map { Swift.abs(values[$0 * 33 + column]) }.max()!
                let scale = Float(bitPattern: words[base + j])
                #expect(scale == largest / 127, "column \(column) scale")
                var sum: Int32 = 0
                for i in 0..<8 {
                    let byte = Int8(bitPattern: UInt8(truncatingIfNeeded: words[base + (2 + i / 4) * 32 + j] >> (8 * (i % 4))))
                    let expected: Int8 = i < 6 ? Int8((values[i * 33 + column] / scale).rounded(.toNearestOrEven)) : 0
                    #expect(byte == expected, "column \(column) row \(i)")
                    sum += Int32(byte)
                }
                #expect(Int32(bitPattern: words[base + 32 + j]) == sum, "column \(column) sum")
            }
        }
        // Ties to even; clamped to ±127; a zero scale (a column of zeros) gives zeros.
        #expect(PanelLayout.quantize(2.5, scale: 1) == 2 && PanelLayout.quantize(3.5, scale: 1) == 4)
        #expect(PanelLayout.quantize(-500, scale: 1) == -127 && PanelLayout.quantize(1, scale: 0) == 0)
    }
}
