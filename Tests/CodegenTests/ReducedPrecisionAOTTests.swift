import Foundation
import Testing
import Graph
import Passes
import Tensors
@testable import Codegen

/// An AOT library compiled at bf16 or int8, linked from C (`AOTTests.program`): its outputs equal the
/// JIT model's at the same precision (the same kernels) and the f32 interpreter's within the format's
/// error; its header and status 7 name the precision and the feature it needs. Each precision runs
/// only where the host has its feature (skipped, saying so, elsewhere).
@Suite(.serialized)
struct ReducedPrecisionAOTTests {
    @Test(.enabled(if: HostTarget.host().has("avx512bf16"), "the host CPU lacks avx512bf16 (AVX512-BF16), which the bf16 kernels need"))
    func cProgramRunsTheBF16Library() throws { try cProgramRunsTheLibrary(.bf16) }

    @Test(.enabled(if: HostTarget.host().has("avx512vnni"), "the host CPU lacks avx512vnni (AVX512-VNNI), which the int8 kernels need"))
    func cProgramRunsTheInt8Library() throws { try cProgramRunsTheLibrary(.int8) }

    func cProgramRunsTheLibrary(_ precision: Precision) throws {
        let graph = try AOTTests.graph()
        let optimized = try PassManager(pipeline: .level(2, precision: precision)).run(graph).graph
        #expect(optimized.constants.keys.contains { PanelLayout.format(ofConstant: $0) == PanelLayout.Format(precision) }, "\(optimized.constants.keys.sorted())")
        let options = CompileOptions(cache: nil, precision: precision)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aot-\(precision)-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try AOTCompiler.write(optimized, name: "tiny", to: dir, options: options)
        let header = try String(contentsOfFile: dir + "/tiny.h", encoding: .utf8)
        #expect(header.contains("#define TINY_PRECISION \"\(precision)\"") && header.contains("#define TINY_UNSUPPORTEDCPU 7"))
        try AOTTests.program.write(toFile: dir + "/main.c", atomically: true, encoding: .utf8)
        let log = try AOTTests.shell("cd \(dir) && cc -std=c11 -Wall -Werror -o app main.c -L. -ltiny -lm 2>&1")
        #expect(log.isEmpty, "cc: \(log)")
        let jit = try CompiledModel(graph: optimized, name: "tiny", options: options)
        let interpreter = Interpreter(graph: graph)
        for (batch, seq) in [(1, 5), (4, 32)] {
            let ids = Tensor.randint(0, 10, shape: [batch, seq], seed: UInt64(batch * 100 + seq))
            let output = try AOTTests.shell("\(dir)/app \(dir)/tiny.weights \(batch) \(seq) " + ids.toIntArray().map(String.init).joined(separator: " "))
            let words = output.split(whereSeparator: \.isWhitespace)
            #expect(words.first == "ok", "\(output.prefix(200))")
            let values = words.dropFirst().prefix(while: { $0 != "null" }).compactMap { Float($0) }
            let same = try jit(["input_ids": ids])
            let exact = try interpreter.run(["input_ids": ids])
            let reduced = same["hidden"]!.toFloatArray() + same["pooled"]!.toFloatArray()
            let f32 = exact["hidden"]!.toFloatArray() + exact["pooled"]!.toFloatArray()
            #expect(values.count == f32.count)
            for (a, e) in zip(values, reduced) { #expect(Swift.abs(a - e) <= 1e-5 * (1 + Swift.abs(e))) }
            let worst = zip(values, f32).map { Swift.abs($0 - $1) / (1 + Swift.abs($1)) }.max() ?? 0
            #expect(worst > 0 && worst < 0.05, "largest difference from f32: \(worst)")
        }
        // The status a CPU without the feature gets, as the library words it.
        let probe = """
        #include <stdio.h>
        #include "tiny.h"
        int main(void) { printf("%s\\n", tiny_error_message(TINY_UNSUPPORTEDCPU)); return 0; }
        """
        try probe.write(toFile: dir + "/probe.c", atomically: true, encoding: .utf8)
        let message = try AOTTests.shell("cd \(dir) && cc -std=c11 -Wall -Werror -o probe probe.c -L. -ltiny -lm 2>&1 && ./probe")
        #expect(message.contains(precision.requiredFeatureCPUInfoName ?? "?"), "\(message)")
    }
}
