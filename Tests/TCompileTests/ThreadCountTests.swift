import Foundation
import Synchronization
import Testing
import TCompile
import Transformers

/// The compiled model's thread pool: every thread count, and concurrent calls sharing one pool, give
/// bit-identical outputs (each task writes its own tiles, so the split cannot change a sum).
@Suite struct ThreadCountTests {
    static let classifier = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../samples/classify/model").standardized

    @Test func everyThreadCountGivesIdenticalOutputs() throws {
        let model = try ModelExport.load(directory: Self.classifier, task: .textClassification)
        let graph = try TCompile.optimize(try model.trace(maxBatch: 4, maxSeq: 40)).graph
        let compiled = try CompiledModel(graph: graph, name: "threads", options: CompileOptions(threads: 1))
        let inputs: [String: Tensor] = ["input_ids": Tensor.randint(1, 500, shape: [3, 37], seed: 3),
                                        "attention_mask": Tensor.ones([3, 37], dtype: .int64),
                                        "token_type_ids": Tensor.zeros([3, 37], dtype: .int64)].filter { model.inputNames.contains($0.key) }
        let serial = try compiled(inputs)["logits"]!.toFloatArray()
        let reference = try Interpreter(graph: graph).run(inputs)["logits"]!.toFloatArray()
        #expect(zip(serial, reference).allSatisfy { Swift.abs($0 - $1) <= 1e-4 })
        for threads in [2, 3, 4] {
            try compiled.setThreads(threads)
            for _ in 0..<20 { #expect(try compiled(inputs)["logits"]!.toFloatArray() == serial, "\(threads) threads") }
        }
        // Concurrent calls: one gets the pool, the others run their loops serially; all agree.
        try compiled.setThreads(2)
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 64) { _ in
            let out = try? compiled(inputs)["logits"]!.toFloatArray()
            if out != serial { mismatches.withLock { $0 += 1 } }
        }
        #expect(mismatches.withLock { $0 } == 0)
        // Changing the thread count while calls run: each call keeps the pool it started with.
        DispatchQueue.concurrentPerform(iterations: 48) { i in
            if i % 8 == 0 { try? compiled.setThreads(1 + i % 3); return }
            let out = try? compiled(inputs)["logits"]!.toFloatArray()
            if out != serial { mismatches.withLock { $0 += 1 } }
        }
        #expect(mismatches.withLock { $0 } == 0)
    }

    /// The baseline x86-64 build (`--portable`: SSE2 only, the microkernel's 16-lane vectors split
    /// and its masked stores scalarized) computes the same model.
    @Test func portableCodeAgreesWithTheInterpreter() throws {
        let model = try ModelExport.load(directory: Self.classifier, task: .textClassification)
        let graph = try TCompile.optimize(try model.trace(maxBatch: 4, maxSeq: 40)).graph
        let compiled = try CompiledModel(graph: graph, name: "portable", options: CompileOptions(target: .portable(), threads: 2))
        let inputs: [String: Tensor] = ["input_ids": Tensor.randint(1, 500, shape: [2, 29], seed: 9),
                                        "attention_mask": Tensor.ones([2, 29], dtype: .int64),
                                        "token_type_ids": Tensor.zeros([2, 29], dtype: .int64)].filter { model.inputNames.contains($0.key) }
        let expected = try Interpreter(graph: graph).run(inputs)["logits"]!.toFloatArray()
        let actual = try compiled(inputs)["logits"]!.toFloatArray()
        #expect(zip(actual, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-4 })
    }
}
