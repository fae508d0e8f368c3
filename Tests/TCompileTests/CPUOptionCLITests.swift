import Foundation
import Testing
import TCompile

/// `tcompile --cpu native|portable|multi`: the summary and header name the CPUs the code was generated
/// for, a multi library at bf16 holds the one AVX-512 copy its kernels need, and contradicting flags
/// are an argument error before anything is written. (CPUDispatchTests runs the variants.)
@Suite(.serialized) struct CPUOptionCLITests {
    @Test func cpuChoicesReachTheLibrary() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let multi = try CLITests.run([dir + "/model.json", "-o", dir + "/multi", "--cpu", "multi"])
        #expect(multi.status == 0 && multi.output.contains("x86-64-v4, x86-64-v3, x86-64 (--cpu multi)"), "\(multi.output)")
        let header = try String(contentsOfFile: dir + "/multi/tiny_classifier.h", encoding: .utf8)
        #expect(header.contains("_CPU_TARGETS \"x86-64-v4 x86-64-v3 x86-64\""), "\(header)")
        let portable = try CLITests.run([dir + "/model.json", "-o", dir + "/portable", "--cpu", "portable"])
        #expect(portable.status == 0 && portable.output.contains("target x86-64,"), "\(portable.output)")
        let native = try CLITests.run([dir + "/model.json", "-o", dir + "/native"])
        #expect(native.status == 0 && native.output.contains("target \(HostTarget.host().cpu),"), "\(native.output)")
        let contradiction = try CLITests.run([dir + "/model.json", "-o", dir + "/both", "--portable", "--cpu", "multi"])
        #expect(contradiction.status == 64 && contradiction.output.contains("contradict"), "\(contradiction.output)")
        let unknown = try CLITests.run([dir + "/model.json", "-o", dir + "/unknown", "--cpu", "arm64"])
        #expect(unknown.status == 64, "\(unknown.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/both") && !FileManager.default.fileExists(atPath: dir + "/unknown"))
    }

    @Test(.enabled(if: HostTarget.host().has("avx512bf16"), "the host CPU lacks avx512bf16 (AVX512-BF16), which bf16 needs"))
    func multiAtBF16HoldsTheOneCopyItsKernelsNeed() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try CLITests.run([dir + "/model.json", "-o", dir + "/bf16", "--cpu", "multi", "--precision", "bf16"])
        #expect(result.status == 0 && result.output.contains("target x86-64-v4,"), "\(result.output)")
        #expect(try String(contentsOfFile: dir + "/bf16/tiny_classifier.h", encoding: .utf8).contains("_CPU_TARGETS \"x86-64-v4\""))
    }
}
