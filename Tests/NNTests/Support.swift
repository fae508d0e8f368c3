import Foundation
import Testing
@testable import NN
import Tensors

/// Reads a fixture written by scripts/fixtures/nn_fixtures.py.
func fixture(_ name: String) throws -> SafeTensorsFile {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "safetensors"))
    return try SafeTensorsFile(path: url.path)
}

/// max |a − b| / max |b| over the tensor: the relative difference the issue's tolerances refer to.
func relativeDifference(_ a: Tensor, _ b: Tensor) -> Float {
    let x = a.toFloatArray(), y = b.toFloatArray()
    precondition(x.count == y.count && a.shape == b.shape, "relativeDifference: shapes \(a.shape) and \(b.shape)")
    let diff = zip(x, y).map { Swift.abs($0 - $1) }.max() ?? 0
    let scale = y.map { Swift.abs($0) }.max() ?? 0
    return scale == 0 ? diff : diff / scale
}

/// Expects `a` to match `b` within `tolerance` relative difference, naming `what` on failure.
func expectClose(_ a: Tensor, _ b: Tensor, _ tolerance: Float = 1e-5, _ what: String = "",
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard a.shape == b.shape else {
        Issue.record("\(what): shape \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
        return
    }
    let d = relativeDifference(a, b)
    #expect(d <= tolerance, "\(what): relative difference \(d)", sourceLocation: sourceLocation)
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("nn-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Checks every parameter's gradient of `loss` against central finite differences (step `h`, float32),
/// on up to `samples` elements per parameter; `skip` excludes elements by key and flat index.
func checkGradients(_ module: Module, h: Float = 1e-3, rtol: Float = 1e-2, atol: Float = 2e-3, samples: Int = 12,
                    skip: (String, Int) -> Bool = { _, _ in false }, _ loss: () -> Tensor,
                    sourceLocation: SourceLocation = #_sourceLocation) {
    module.zeroGrad()
    loss().backward()
    for (key, p) in module.namedParameters() {
        guard let grad = p.grad?.toFloatArray() else {
            Issue.record("\(key): no gradient", sourceLocation: sourceLocation)
            continue
        }
        precondition(p.isContiguous)
        let values = p.pointer(as: Float.self)
        let stride = Swift.max(1, p.count / samples)
        for i in Swift.stride(from: 0, to: p.count, by: stride) where !skip(key, i) {
            let saved = values[i]
            values[i] = saved + h
            let plus = withNoGrad { loss().item() }
            values[i] = saved - h
            let minus = withNoGrad { loss().item() }
            values[i] = saved
            let numeric = (plus - minus) / (2 * h)
            #expect(Swift.abs(numeric - grad[i]) <= atol + rtol * Swift.max(Swift.abs(numeric), Swift.abs(grad[i])),
                    "\(key)[\(i)]: analytic \(grad[i]), numeric \(numeric)", sourceLocation: sourceLocation)
        }
    }
}

/// The fixtures' 4 → 8 → 3 network with tanh: keys fc1.*, fc2.*.
final class MLP: Module, UnaryLayer {
    let fc1: Linear
    let fc2: Linear

    init(_ inputs: Int = 4, _ hidden: Int = 8, _ outputs: Int = 3) {
        fc1 = Linear(inputs, hidden)
        fc2 = Linear(hidden, outputs)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).tanh()) }
}
