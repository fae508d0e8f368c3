import Testing
import Graph
import Tensors
@testable import Codegen

@Suite struct ArtifactTests {
    static func softmaxGraph() throws -> Graph {
        try Tracer.trace(inputs: [("x", Tensor.randn([2, 8], seed: 1))],
                         dynamicDims: [DynamicDim(input: "x", dim: 1, symbol: "seq", max: 64)]) { [("y", ($0["x"]!.exp() * 2).softmax(dim: -1))] }
    }

    @Test func hostCodeIsVectorizedWithTheWidestVectors() throws {
        let host = HostTarget.host()
        let asm = try CompiledArtifacts.assembly(try Self.softmaxGraph(), name: "soft", options: CompileOptions(target: host))
        #expect(asm.contains("soft_kernel"))
        #expect(!asm.contains("expf"), "exp is inlined vector math, not a libm call")
        if host.has("avx512f") { #expect(asm.contains("zmm"), "AVX-512 registers on an AVX-512 host") }
        else if host.has("avx2") { #expect(asm.contains("ymm")) }
    }

    @Test func portableCodeUsesOnlyTheBaseline() throws {
        let asm = try CompiledArtifacts.assembly(try Self.softmaxGraph(), name: "soft", options: CompileOptions(target: .portable()))
        #expect(!asm.contains("zmm") && !asm.contains("ymm"))
        #expect(asm.contains("xmm"))
    }

    @Test func objectIsDeterministicELF() throws {
        let a = try CompiledArtifacts.object(try Self.softmaxGraph(), name: "soft")
        let b = try CompiledArtifacts.object(try Self.softmaxGraph(), name: "soft")
        #expect(a.bytes.prefix(4) == [0x7F, 0x45, 0x4C, 0x46])
        #expect(a.bytes == b.bytes)
        #expect(a.signature.name == "soft_kernel")
        let ll = try CompiledArtifacts.llvmIR(try Self.softmaxGraph(), name: "soft")
        #expect(ll.contains("define") && ll.contains("@soft_kernel"))
    }
}
