import Foundation
import FuzzSeeds
import FuzzSupport
import TCompile

/// The seed graph of the run target, compiled ahead of time into `fuzzw.o` (and its data, `fuzzw_data.o`), linked into a shared
/// library and loaded, so that each input can go through the generated `fuzzw_create` and `fuzzw_run`
/// exactly as a C program's would.
typealias Create = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>?) -> CInt
typealias Run = @convention(c) (OpaquePointer?, UnsafePointer<Int64>?, UnsafePointer<UnsafeRawPointer?>?,
                                UnsafePointer<UnsafeMutableRawPointer?>?, UnsafeMutableRawPointer?) -> CInt
typealias Destroy = @convention(c) (OpaquePointer?) -> Void
typealias WorkspaceSize = @convention(c) () -> Int

struct Library: @unchecked Sendable {   // set once before fuzzing; libFuzzer calls one input at a time
    let create: Create, run: Run, destroy: Destroy, workspace: UnsafeMutableRawPointer
    let weights: String
}

let library: Library = {
    let directory = scratchDirectory + "/weights-lib"
    do {
        _ = try AOTCompiler.write(try seedGraph(), name: "fuzzw", to: directory, emit: [.object])
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/bin/sh")
        cc.arguments = ["-c", "cc -shared -o '\(directory)/libfuzzw.so' '\(directory)/fuzzw.o' '\(directory)/fuzzw_data.o' -lm -lpthread"]
        try cc.run()
        cc.waitUntilExit()
        guard cc.terminationStatus == 0, let handle = dlopen(directory + "/libfuzzw.so", RTLD_NOW) else {
            fatalError("cannot link or load the library: \(String(cString: dlerror()))")
        }
        func symbol<T>(_ name: String, _: T.Type) -> T { unsafeBitCast(dlsym(handle, name)!, to: T.self) }
        let size = symbol("fuzzw_workspace_size", WorkspaceSize.self)()
        return Library(create: symbol("fuzzw_create", Create.self), run: symbol("fuzzw_run", Run.self),
                       destroy: symbol("fuzzw_destroy", Destroy.self),
                       workspace: UnsafeMutableRawPointer.allocate(byteCount: max(size, 64), alignment: 64),
                       weights: directory + "/fuzzw.weights")
    } catch {
        fatalError("cannot compile the seed graph: \(error)")
    }
}()

/// The input's bytes as `fuzzw.weights`: `fuzzw_create` must return 0, 4 (unusable) or 6 (another
/// build's), never crash or read outside the file; a file it accepts must run (status 0) on 1 × 3 ids.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzWeights(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = writeScratch(bytes(data, size), name: "input.weights")
    var model: OpaquePointer? = nil
    let created = library.create(path, &model)
    guard created == 0 else {
        if created != 4 && created != 6 { fatalError("fuzzw_create returned \(created)") }
        return 0
    }
    var dims: [Int64] = [1, 3]
    var ids: [Int64] = [1, 2, 3]
    var hidden = [Float](repeating: 0, count: 18), pooled = [Float](repeating: 0, count: 6)
    let status = ids.withUnsafeBufferPointer { i in
        hidden.withUnsafeMutableBufferPointer { h in
            pooled.withUnsafeMutableBufferPointer { p in
                let inputs: [UnsafeRawPointer?] = [UnsafeRawPointer(i.baseAddress)]
                let outputs: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(h.baseAddress), UnsafeMutableRawPointer(p.baseAddress)]
                return library.run(model, &dims, inputs, outputs, library.workspace)
            }
        }
    }
    library.destroy(model)
    if status != 0 { fatalError("fuzzw_run returned \(status) on weights fuzzw_create accepted") }
    return 0
}

/// Writes the library's own weights file to `TCOMPILE_FUZZ_SEED_OUT` and exits, or runs libFuzzer.
@_cdecl("fuzz_weights_main")
func fuzzWeightsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    _ = library
    if let out = ProcessInfo.processInfo.environment["TCOMPILE_FUZZ_SEED_OUT"] {
        try? FileManager.default.removeItem(atPath: out)
        try? FileManager.default.copyItem(atPath: library.weights, toPath: out)
        return 0
    }
    return runFuzzer(argc, argv, fuzzWeights)
}
