import CLLVM
import Foundation
import Testing
import Graph
import Tensors
@testable import Codegen

/// `ParallelCodegen` splits a module into a glue partition and kernel partitions: every function is
/// defined by exactly one object, the glue (thread pool) apart from the kernels, the same bytes on every
/// compile, and the partitioned code computes what the interpreter does.
@Suite struct ParallelCodegenTests {
    static func objects(_ graph: Graph) throws -> [ParallelCodegen.Object] {
        let options = CompileOptions(threads: 1, cache: nil)
        let context = LLVMContextCreate()!
        defer { LLVMContextDispose(context) }
        var times = CompileTimes()
        let (module, signature) = try ModuleBuilder.build(graph, name: "split", options: options, context: context, times: &times, optimize: false)
        defer { LLVMDisposeModule(module) }
        let objects = try ParallelCodegen.objects(module, kernels: [signature.name], options: options, times: &times)
        #expect(times.phases.map(\.name).contains("LLVM optimization") && times.phases.map(\.name).contains("machine code"))
        return objects
    }

    @Test func everyFunctionHasOneOwnerAndTheSplitIsDeterministic() throws {
        let graph = try TaskSharingTests.graph(layers: 3)
        let objects = try Self.objects(graph)
        #expect(objects.count >= 3, "glue and at least two kernel partitions, got \(objects.count)")
        let symbols = objects.flatMap(\.symbols)
        #expect(Set(symbols).count == symbols.count, "a symbol defined twice: \(symbols)")
        #expect(symbols.contains("split_kernel") && symbols.contains { $0.hasPrefix("split_kernel.task") })
        // The glue partition comes first and holds no kernel function.
        #expect(objects[0].symbols.contains("split_kernel_pool_create"))
        #expect(!objects[0].symbols.contains { $0 == "split_kernel" || $0.hasPrefix("split_kernel.") })
        #expect(objects.dropFirst().allSatisfy { o in o.symbols.allSatisfy { $0 == "split_kernel" || $0.hasPrefix("split_kernel.") } })
        for object in objects { #expect(object.bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46])) }
        let again = try Self.objects(graph)
        #expect(again.map(\.bytes) == objects.map(\.bytes) && again.map(\.symbols) == objects.map(\.symbols))
    }

    @Test func thePartitionedCodeComputesWhatTheInterpreterDoes() throws {
        let graph = try TaskSharingTests.graph(layers: 3)
        let compiled = try CompiledModel(graph: graph, name: "split", options: CompileOptions(threads: 2, cache: nil))
        for seq in [1, 7, 12] {
            let x = Tensor.randn([2, seq, 16], seed: UInt64(seq))
            let expected = try Interpreter(graph: graph).run(["x": x])["y"]!.toFloatArray()
            let got = try compiled(["x": x])["y"]!.toFloatArray()
            #expect(got.count == expected.count && zip(got, expected).allSatisfy { abs($0 - $1) <= 1e-5 }, "seq \(seq)")
        }
    }
}
