import Foundation
import Testing
import TCompile
import Transformers
import Graph

/// A whole model compiled at a reduced precision against the f32 graph: the small BERT fixture (hidden
/// 96, intermediate 200, two layers, random weights), traced and optimized for bf16 or int8 (its weights
/// marked `.bf16panels` / `.int8panels`), through `PrecisionReport` as `tcompile --precision` reports
/// it. Each runs only where the host has the precision's feature (skipped, saying so, elsewhere).
@Suite struct ReducedPrecisionModelTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures").standardized

    static func bertGraph() throws -> Graph {
        let model = try ModelExport.load(directory: fixtures.appendingPathComponent("bert-model"), task: .featureExtraction)
        return try model.trace(maxBatch: 4, maxSeq: 32)
    }

    /// The task scratch the precision's linear kernel needs at k = 200.
    static func scratch(_ precision: Precision) -> Int {
        precision == .bf16 ? PanelLayout.bf16ScratchBytes(k: 200, packsPanel: false) : PanelLayout.int8ScratchBytes(k: 200)
    }

    @Test(.enabled(if: HostTarget.host().has("avx512bf16"), "the host CPU lacks avx512bf16 (AVX512-BF16), which the bf16 kernels need"))
    func bertCompiledAtBF16AgreesWithF32() throws { try agreesWithF32(.bf16, minimumCosine: 0.999) }

    @Test(.enabled(if: HostTarget.host().has("avx512vnni"), "the host CPU lacks avx512vnni (AVX512-VNNI), which the int8 kernels need"))
    func bertCompiledAtInt8AgreesWithF32() throws { try agreesWithF32(.int8, minimumCosine: 0.99) }

    func agreesWithF32(_ precision: Precision, minimumCosine: Double) throws {
        let graph = try Self.bertGraph()
        let result = try TCompile.optimize(graph, level: 2, precision: precision)
        let optimized = result.graph
        let panels = optimized.constants.keys.filter { PanelLayout.format(ofConstant: $0) != nil }
        #expect(!panels.isEmpty && panels.allSatisfy { PanelLayout.format(ofConstant: $0) == PanelLayout.Format(precision) }, "\(panels.sorted())")
        let compiled = try CompiledModel(graph: optimized, name: "bert_\(precision)", options: CompileOptions(cache: nil, precision: precision))
        // The pipeline's plan at this precision (the compile report's arena) is the kernel's workspace, its scratch included.
        #expect(result.memoryPlan?.arenaBytes == compiled.signature.workspaceBytes)
        #expect(result.memoryPlan.map { $0.scratchBytes >= Self.scratch(precision) } ?? false)
        for dims in [["batch": 1, "seq": 7], ["batch": 4, "seq": 32]] {
            let report = try PrecisionReport.measure(reference: graph, compiled: compiled, precision: precision, dims: dims)
            #expect(report.outputs.map(\.name) == graph.outputs.map(\.name))
            for output in report.outputs {
                #expect(output.cosine >= minimumCosine, "\(dims) \(output.name): cosine \(output.cosine)")
                // Not f32: some difference, and well within the values' scale.
                #expect(output.maxAbsError > 0 && output.maxAbsError < 0.05 * output.maxAbsReference,
                        "\(dims) \(output.name): max abs error \(output.maxAbsError) of \(output.maxAbsReference)")
            }
        }
        // The sample ids cover the vocabulary (not only the ones `sampleInputs` gives).
        let inputs = try PrecisionReport.sampleInputs(for: graph, dims: ["batch": 4, "seq": 32], seed: 0)
        let ids = try #require(inputs["input_ids"]).toIntArray()
        #expect(Set(ids).count > 20 && ids.allSatisfy { (0..<99).contains($0) })
    }

    /// `--keep-fp32`: the weights a glob matches stay f32 panels (`.fp32panels`) at int8, the rest are
    /// int8; the model still agrees with f32, better than all-int8 where the kept layers are; a glob that
    /// matches nothing is an error naming it, before code generation.
    @Test(.enabled(if: HostTarget.host().has("avx512vnni"), "the host CPU lacks avx512vnni (AVX512-VNNI), which the int8 kernels need"))
    func keptLayersStayF32() throws {
        let graph = try Self.bertGraph()
        let optimized = try TCompile.optimize(graph, level: 2, precision: .int8, keepFP32: ["*.layer.1.*"]).graph
        let formats = Dictionary(grouping: optimized.constants.keys.compactMap { name in PanelLayout.format(ofConstant: name).map { (name, $0) } }, by: \.1)
        let kept = formats[.f32Kept]?.map(\.0) ?? [], int8 = formats[.int8]?.map(\.0) ?? []
        #expect(!kept.isEmpty && kept.allSatisfy { $0.contains(".layer.1.") }, "\(kept.sorted())")
        #expect(!int8.isEmpty && int8.allSatisfy { !$0.contains(".layer.1.") }, "\(int8.sorted())")
        // Compiled at int8 (and, retargeted, at fp32): the kept panels stay f32 either way.
        let options = CompileOptions(cache: nil, precision: .int8, keepFP32: ["*.layer.1.*"])
        let compiled = try CompiledModel(graph: optimized, name: "bert_kept", options: options)
        let report = try PrecisionReport.measure(reference: graph, compiled: compiled, precision: .int8, dims: ["batch": 2, "seq": 16])
        for output in report.outputs { #expect(output.cosine >= 0.99 && output.maxAbsError > 0, "\(output.name): \(output.cosine)") }
        // The same through TCompile.compile, which applies the options' patterns.
        let viaCompile = try TCompile.compile(graph, name: "bert_kept2", options: options)
        #expect(viaCompile.signature.constants.contains { PanelLayout.format(ofConstant: $0.name) == .f32Kept })
        do {
            _ = try TCompile.optimize(graph, level: 2, precision: .int8, keepFP32: ["*.layer.1.*", "decoder.*"])
            Issue.record("a pattern matching nothing was accepted")
        } catch let error as GraphError {
            #expect(error.message.contains("'decoder.*'") && error.message.contains("matches no weight") && !error.message.contains("'*.layer.1.*'"), "\(error.message)")
        }
    }
}

/// Static int8 quantization (`Calibration`, `--calibrate`): the calibration inputs are checked against
/// the graph, every int8 layer gets its input's range, and the calibrated model agrees with f32 on them.
@Suite struct CalibrationTests {
    static func write(_ tensors: [String: Tensor]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("calibration-\(UUID()).safetensors").path
        try SafeTensors.write(tensors, to: path)
        return path
    }

    static func inputs(batch: Int, seq: Int, seed: UInt64) -> [String: Tensor] {
        ["input_ids": Tensor.randint(1, 99, shape: [batch, seq], seed: seed), "attention_mask": Tensor.ones([batch, seq], dtype: .int64),
         "token_type_ids": Tensor.zeros([batch, seq], dtype: .int64)]
    }

    @Test(.enabled(if: HostTarget.host().has("avx512vnni"), "the host CPU lacks avx512vnni (AVX512-VNNI), which the int8 kernels need"))
    func calibratedBertAgreesWithF32() throws {
        let graph = try ReducedPrecisionModelTests.bertGraph()
        let files = try [Self.write(Self.inputs(batch: 4, seq: 32, seed: 1)), Self.write(Self.inputs(batch: 2, seq: 9, seed: 2))]
        defer { for f in files { try? FileManager.default.removeItem(atPath: f) } }
        let samples = try Calibration.samples(files: files, for: graph)
        let optimized = try TCompile.optimize(graph, level: 2, precision: .int8).graph
        let (calibrated, layers) = try Calibration.apply(samples, to: optimized)
        let int8Layers = optimized.constants.keys.filter { PanelLayout.format(ofConstant: $0) == .int8 }.count
        #expect(layers > 0 && layers >= int8Layers)
        let ranges = calibrated.nodes.compactMap { node -> ClosedRange<Float>? in
            if case .fused(.linear(_, _, _, let range)) = node.op { range } else { nil }
        }
        #expect(ranges.count == layers && ranges.allSatisfy { $0.lowerBound <= 0 && $0.upperBound >= 0 && $0.upperBound > $0.lowerBound })
        let compiled = try CompiledModel(graph: calibrated, name: "bert_static", options: CompileOptions(cache: nil, precision: .int8))
        let report = try PrecisionReport.measure(reference: graph, compiled: compiled, precision: .int8, on: samples, source: "the calibration inputs")
        #expect(report.summary.contains("the calibration inputs"))
        for output in report.outputs { #expect(output.cosine >= 0.98 && output.maxAbsError > 0, "\(output.name): cosine \(output.cosine)") }
        // Static, not dynamic: the outputs differ from the dynamically quantized model's.
        let dynamic = try CompiledModel(graph: optimized, name: "bert_dynamic", options: CompileOptions(cache: nil, precision: .int8))
        let a = try compiled(samples[0]), b = try dynamic(samples[0])
        #expect(a.keys.contains { a[$0]!.toFloatArray() != b[$0]!.toFloatArray() })
    }

    /// Each mismatch between a calibration file and the graph is an error naming the file, the tensor
    /// and the dim.
    @Test func mismatchedFilesAreRefused() throws {
        let graph = try ReducedPrecisionModelTests.bertGraph()
        var missing = Self.inputs(batch: 2, seq: 8, seed: 3)
        missing["attention_mask"] = nil
        var floats = Self.inputs(batch: 2, seq: 8, seed: 3)
        floats["input_ids"] = Tensor.randn([2, 8], seed: 1)
        var tooLong = Self.inputs(batch: 2, seq: 40, seed: 3)
        tooLong["token_type_ids"] = Tensor.zeros([2, 40], dtype: .int64)
        var disagreeing = Self.inputs(batch: 2, seq: 8, seed: 3)
        disagreeing["attention_mask"] = Tensor.ones([2, 9], dtype: .int64)
        var rank = Self.inputs(batch: 2, seq: 8, seed: 3)
        rank["input_ids"] = Tensor.randint(1, 99, shape: [16], seed: 1)
        let cases: [([String: Tensor], String)] = [
            (missing, "has no tensor 'attention_mask'"), (floats, "'input_ids' is float32, the graph's input is int64"),
            (tooLong, "('seq') is 40, outside the compiled bounds 1...32"), (disagreeing, "but 'input_ids' has seq = 8"),
            (rank, "'input_ids' has shape [16]"),
        ]
        for (tensors, fragment) in cases {
            let path = try Self.write(tensors)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try Calibration.samples(files: [path], for: graph)
                Issue.record("accepted a file where \(fragment)")
            } catch let error as GraphError {
                #expect(error.message.contains(path) && error.message.contains(fragment), "\(error.message)")
            }
        }
        #expect(throws: GraphError.self) { _ = try Calibration.samples(files: ["/nonexistent/calibration.safetensors"], for: graph) }
        // A graph without int8 layers cannot be calibrated.
        let f32 = try TCompile.optimize(graph, level: 2).graph
        #expect(throws: GraphError.self) { _ = try Calibration.apply([Self.inputs(batch: 1, seq: 4, seed: 1)], to: f32) }
    }
}
