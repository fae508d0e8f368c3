import Foundation
import Testing
@testable import Tensors

/// Loads the NumPy reference cases of `Fixtures/ops.json` (see scripts/fixtures/tensor_fixtures.py).
enum OpFixtures {
    struct TensorValue: Decodable {
        var shape: [Int]
        var dtype: String
        var data: [Double]

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            shape = try c.decode([Int].self, forKey: .shape)
            dtype = try c.decode(String.self, forKey: .dtype)
            if dtype == "bool" {
                data = try c.decode([Bool].self, forKey: .data).map { $0 ? 1 : 0 }
            } else {
                data = try c.decode([Double].self, forKey: .data)
            }
        }
        enum CodingKeys: String, CodingKey { case shape, dtype, data }

        var tensor: Tensor {
            switch dtype {
            case "bool": Tensor(data.map { $0 != 0 }, shape: shape)
            case "int64": Tensor(data.map { Int($0) }, shape: shape)
            default: Tensor(data.map { Float($0) }, shape: shape)
            }
        }
    }
    struct Case: Decodable {
        var inputs: [TensorValue]
        var output: TensorValue
    }
    struct File: Decodable {
        var cases: [String: Case]
    }

    static let cases: [String: Case] = {
        let url = Bundle.module.url(forResource: "Fixtures/ops", withExtension: "json")!
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }()
}

/// Checks `actual` against `expected` elementwise: |a − e| ≤ atol + rtol·|e|, shapes equal.
func expectClose(_ actual: Tensor, _ expected: Tensor, atol: Float = 1e-5, rtol: Float = 1e-5,
                 _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, "\(label): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let a = actual.toFloatArray(), e = expected.toFloatArray()
    var worst = 0, worstExcess: Float = 0
    for i in 0..<a.count {
        let excess = Swift.abs(a[i] - e[i]) - (atol + rtol * Swift.abs(e[i]))
        if excess > worstExcess || (a[i].isNaN != e[i].isNaN) { worst = i; worstExcess = Swift.max(excess, 1) }
    }
    #expect(worstExcess <= 0, "\(label): element \(worst) is \(a.isEmpty ? 0 : a[worst]), expected \(e.isEmpty ? 0 : e[worst])", sourceLocation: sourceLocation)
}
