import Testing
@testable import Codegen

@Suite struct HostTargetTests {
    @Test func hostIsX86_64WithNamedCPU() {
        let host = HostTarget.host()
        #expect(host.triple.hasPrefix("x86_64"))
        #expect(!host.cpu.isEmpty && host.cpu != "generic")
        #expect(host.has("sse2"))
    }

    @Test func portableBaselineHasNoFeatures() {
        let portable = HostTarget.portable()
        #expect(portable.cpu == "x86-64")
        #expect(!portable.has("avx512f"))
    }
}
