import Foundation
import Testing
import TCompile
@testable import tcompile

/// Which invocations re-execute tcompile to choose OpenBLAS's kernels (`EagerKernelCommand`): those
/// that run eager kernels. A traced graph run or compiled at f32 does not, and saves a process start.
@Suite struct EagerKernelCommandTests {
    @Test func onlyInvocationsThatRunEagerKernelsReExecute() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let graph = dir + "/model.json", manifest = dir + "/manifest.json"
        let f32Manifest = dir + "/f32.json", int8Manifest = dir + "/int8.json"
        try #"{"format": "tcompile.model/2", "name": "m", "checkpoint": "ckpt", "task": "feature-extraction"}"#
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        try #"{"format": "tcompile.model/2", "checkpoint": "ckpt", "options": {"precision": "f32"}}"#
            .write(toFile: f32Manifest, atomically: true, encoding: .utf8)
        try #"{"format": "tcompile.model/2", "checkpoint": "ckpt", "options": {"threads": 2, "precision": "int8"}}"#
            .write(toFile: int8Manifest, atomically: true, encoding: .utf8)
        let runs: [([String], Bool)] = [([graph], false), ([graph, "--compiled"], false), ([graph, "--eager"], true), ([manifest], true)]
        for (arguments, expected) in runs {
            #expect(try Run.parse(arguments).runsEagerKernels == expected, "run \(arguments)")
        }
        // A manifest is traced on shape-only tensors: only its accuracy report (a precision below f32)
        // runs eager kernels.
        let compiles: [([String], Bool)] = [([graph], false), ([graph, "--precision", "int8"], true), ([manifest], false),
                                            ([f32Manifest], false), ([int8Manifest], true), ([manifest, "--precision", "bf16"], true)]
        for (arguments, expected) in compiles {
            #expect(try Compile.parse(arguments).runsEagerKernels == expected, "compile \(arguments)")
        }
    }
}
