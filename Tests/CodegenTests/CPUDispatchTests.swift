import Foundation
import Testing
import Graph
import Tensors
@testable import Codegen

/// `--cpu multi` libraries and the CPU check of every library: each variant computes what the
/// interpreter computes, the dispatcher picks the best variant the CPU runs (capped by
/// `TCOMPILE_CPU`), and a library whose code needs a feature the CPU lacks refuses at `NAME_create`
/// with status 7 instead of crashing. Variants this host cannot run are skipped, saying so.
@Suite(.serialized) struct CPUDispatchTests {
    /// The feature names (/proc/cpuinfo's spelling) of this host.
    static let hostFlags: Set<String> = {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }()

    /// Whether this host runs code needing `requirement`.
    static func hostRuns(_ requirement: CPURequirement) -> Bool {
        requirement.cpuinfoNames.allSatisfy { hostFlags.contains($0) }
    }

    /// Compiles AOTTests' tiny model with `options` and builds a C program that also prints the running
    /// variant; returns the directory.
    func build(_ options: CompileOptions) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dispatch-\(UUID())").path
        _ = try AOTCompiler.write(try AOTTests.graph(), name: "tiny", to: dir, options: options)
        let program = AOTTests.program.replacingOccurrences(of: "printf(\"ok\");", with: "printf(\"%s ok\", tiny_cpu_target());")
        try program.write(toFile: dir + "/main.c", atomically: true, encoding: .utf8)
        let log = try AOTTests.shell("cd \(dir) && cc -std=c11 -Wall -Werror -o app main.c -L. -ltiny -lm 2>&1")
        #expect(log.isEmpty, "cc: \(log)")
        return dir
    }

    /// The interpreter's outputs for the program's inputs (batch 2, seq 3).
    static func expected() throws -> [Float] {
        let out = try Interpreter(graph: try AOTTests.graph()).run(["input_ids": Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])])
        return out["hidden"]!.toFloatArray() + out["pooled"]!.toFloatArray()
    }

    /// Runs the program with `TCOMPILE_CPU` set to `cap` (nil: unset); returns the variant it ran and the outputs.
    func run(_ dir: String, cap: String?) throws -> (variant: String, values: [Float]) {
        let env = cap.map { "TCOMPILE_CPU=\($0) " } ?? "env -u TCOMPILE_CPU "
        let output = try AOTTests.shell("cd \(dir) && \(env)./app tiny.weights 2 3 1 2 3 4 5 6")
        let words = output.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count > 2, words[1] == "ok" else { return (output, []) }
        return (String(words[0]), words.dropFirst(2).prefix(while: { $0 != "null" }).compactMap { Float($0) })
    }

    @Test func multiLibraryRunsEveryVariantTheHostHas() throws {
        let variants = HostTarget.multi(precision: .fp32)
        #expect(variants.map(\.cpu) == ["x86-64-v4", "x86-64-v3", "x86-64"])
        let dir = try build(CompileOptions(target: variants[0], cache: nil, variants: variants))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let header = try String(contentsOfFile: dir + "/tiny.h", encoding: .utf8)
        #expect(header.contains("#define TINY_CPU_TARGETS \"x86-64-v4 x86-64-v3 x86-64\"") && header.contains("tiny_cpu_target(void)"))
        let expected = try Self.expected()
        // Unset: the best variant the host runs.
        let best = variants.first { Self.hostRuns(CPURequirement(target: $0, precision: .fp32)) }!
        #expect(try run(dir, cap: nil).variant == best.cpu)
        #expect(try run(dir, cap: "no-such-cpu").variant == best.cpu, "an unknown TCOMPILE_CPU is ignored")
        for variant in variants {
            guard Self.hostRuns(CPURequirement(target: variant, precision: .fp32)) else {
                print("skipped: this CPU cannot run the \(variant.cpu) variant")
                continue
            }
            let (ran, values) = try run(dir, cap: variant.cpu)
            #expect(ran == variant.cpu)
            #expect(values.count == expected.count, "\(variant.cpu): \(ran)")
            for (a, e) in zip(values, expected) { #expect(Swift.abs(a - e) <= 1e-4 * (1 + Swift.abs(e)), "\(variant.cpu)") }
        }
    }

    /// A variant needing a feature the host lacks (AMX tiles, where the host has none) is passed over for
    /// the next; a plain library needing it refuses at `NAME_create` with status 7 naming the feature.
    @Test func missingFeaturesAreDetectedByCPUID() throws {
        let needsAMX = HostTarget.x86_64(level: 4, adding: ["amx-tile"])
        let hasAMX = Self.hostFlags.contains("amx_tile")
        let multi = try build(CompileOptions(target: needsAMX, cache: nil, variants: [needsAMX, .portable()]))
        defer { try? FileManager.default.removeItem(atPath: multi) }
        #expect(try run(multi, cap: nil).variant == (hasAMX ? "x86-64-v4" : "x86-64"))
        let plain = try build(CompileOptions(target: needsAMX, cache: nil))
        defer { try? FileManager.default.removeItem(atPath: plain) }
        let output = try AOTTests.shell("cd \(plain) && ./app tiny.weights 2 3 1 2 3 4 5 6")
        if hasAMX {
            #expect(output.hasPrefix("x86-64-v4 ok"), "\(output)")
        } else {
            #expect(output.hasPrefix("create 7 ") && output.contains("amx_tile") && output.contains("--cpu multi"), "\(output)")
        }
        // Baseline code needs nothing; native code needs what the host target enables.
        #expect(CPURequirement(target: .portable(), precision: .fp32).isEmpty)
        let host = CPURequirement(target: .host(), precision: .fp32)
        #expect(Self.hostRuns(host) && (HostTarget.host().has("avx512f") ? host.xcr0 == 0xE6 : true))
        #expect(CPURequirement(target: .portable(), precision: .int8).cpuinfoNames == ["avx512f", "avx512bw", "avx512_vnni"])
    }

    @Test func multiRefusesOneModuleOutputs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dispatch-\(UUID())").path
        #expect(throws: CodegenError.self) {
            try AOTCompiler.write(try AOTTests.graph(), name: "tiny", to: dir,
                                  options: CompileOptions(cache: nil, variants: HostTarget.multi(precision: .fp32)), emit: [.llvmIR])
        }
        #expect(!FileManager.default.fileExists(atPath: dir))
    }
}
