import Foundation
import FuzzSeeds
import FuzzSupport
import TCompile

let model: (graph: Graph, compiled: CompiledModel) = {
    do {
        let graph = try seedGraph()
        return (graph, try TCompile.compile(graph, name: "fuzzrun", options: CompileOptions(threads: 1)))
    } catch {
        fatalError("cannot compile the seed graph: \(error)")
    }
}()

/// The input's bytes as the model's inputs: byte 0 picks the rank and dtype of `input_ids` (rank 1, 2
/// or 3; i64, i32 or f32), bytes 1–3 its dims (0–255, most outside the bounds 4 × 32), the rest the ids,
/// eight bytes each (any Int64: negative, past the vocabulary, Int64.min), the bytes repeated to fill
/// the shape. The interpreter and the compiled model must both refuse the inputs or both return the
/// same outputs (to a float tolerance); anything else, or a crash, is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzRun(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    guard input.count >= 4 else { return 0 }
    let rank = 1 + Int(input[0] % 3)
    let dtype: DType = [.int64, .int32, .float32][Int(input[0] / 3 % 3)]
    let shape = Array(input[1...3].prefix(rank)).map { Int($0) }
    let count = shape.reduce(1, *)
    guard count <= 1 << 14 else { return 0 }
    let payload = Array(input.dropFirst(4))
    var ids: [Int] = []
    ids.reserveCapacity(count)
    for i in 0..<count {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(payload.isEmpty ? 0 : payload[(8 * i + k) % payload.count]) << (8 * UInt64(k)) }
        ids.append(Int(Int64(bitPattern: v)))
    }
    let tensor: Tensor
    switch dtype {
    case .int32: tensor = Tensor(ids.map { Int(Int32(truncatingIfNeeded: $0)) }, shape: shape, dtype: .int32)
    case .float32: tensor = Tensor(ids.map { Float($0 % 1000) }, shape: shape)
    default: tensor = Tensor(ids, shape: shape, dtype: .int64)
    }
    let inputs = ["input_ids": tensor]
    let interpreted = Result { try Interpreter(graph: model.graph).run(inputs) }
    let compiled = Result { try model.compiled(inputs) }
    switch (interpreted, compiled) {
    case (.failure, .failure):
        return 0
    case (.success(let a), .success(let b)):
        for o in model.graph.outputs {
            guard let x = a[o.name], let y = b[o.name], x.shape == y.shape else { fatalError("output '\(o.name)' differs in shape") }
            for (p, q) in zip(x.toFloatArray(), y.toFloatArray()) where !(abs(p - q) <= 1e-3 * (1 + abs(p))) {
                fatalError("output '\(o.name)': interpreter \(p), compiled \(q) for input shape \(shape)")
            }
        }
        return 0
    case (.success, .failure(let e)):
        fatalError("the interpreter ran input shape \(shape) \(dtype) but the compiled model refused: \(e)")
    case (.failure(let e), .success):
        fatalError("the compiled model ran input shape \(shape) \(dtype) but the interpreter refused: \(e)")
    }
}

/// Writes a seed input (1 × 3 ids 1, 2, 3) to `TCOMPILE_FUZZ_SEED_OUT` and exits, or runs libFuzzer.
@_cdecl("fuzz_run_main")
func fuzzRunMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    if let out = ProcessInfo.processInfo.environment["TCOMPILE_FUZZ_SEED_OUT"] {
        var seed: [UInt8] = [1, 1, 3, 0]
        for id in [1, 2, 3] as [Int64] { withUnsafeBytes(of: id.littleEndian) { seed += $0 } }
        FileManager.default.createFile(atPath: out, contents: Data(seed))
        return 0
    }
    _ = model
    return runFuzzer(argc, argv, fuzzRun)
}
