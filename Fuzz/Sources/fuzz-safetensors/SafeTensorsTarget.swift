import FuzzSupport
import Tensors

/// Opens the input as a safetensors file and materializes every tensor it declares: any input must give
/// a `SafeTensorsError` or valid tensors, never a crash or an out-of-bounds read.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = writeScratch(bytes(data, size), name: "input.safetensors")
    guard let file = try? SafeTensorsFile(path: path) else { return 0 }
    for name in file.names {
        guard let tensor = try? file.tensor(name) else { continue }
        // Touch the data: a wrong range would read outside the mapping here.
        _ = tensor.count > 0 ? tensor.contiguous().toFloatArray().reduce(0, +) : 0
        _ = try? file.tensor(name, as: .float32)
    }
    return 0
}

/// The program's entry point (see FuzzSupport.runFuzzer).
@_cdecl("fuzz_safetensors_main")
func fuzzSafeTensorsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSafeTensors)
}
