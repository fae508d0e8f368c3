import Testing
@testable import NN
import Tensors

/// Losses and their gradients against PyTorch (losses.safetensors).
@Suite struct LossTests {
    let file: SafeTensorsFile
    init() throws { file = try fixture("losses") }
    func t(_ name: String) throws -> Tensor { try file.tensor(name) }

    /// A leaf copy of a fixture input that requires gradients.
    func leaf(_ name: String) throws -> Tensor { (try t(name).contiguous() + 0).requiringGrad() }

    func check(_ name: String, _ input: Tensor, _ loss: Tensor) throws {
        expectClose(loss, try t("\(name).loss"), 1e-5, "\(name) loss")
        loss.backward()
        expectClose(input.grad!, try t("\(name).grad"), 1e-5, "\(name) grad")
    }

    @Test func crossEntropy() throws {
        let targets = try t("ce.targets")
        let cases: [(String, Float, Reduction)] = [("mean", 0, .mean), ("sum", 0, .sum), ("smooth", 0.1, .mean), ("smooth_sum", 0.2, .sum)]
        for (name, smoothing, reduction) in cases {
            let logits = try leaf("ce.logits")
            try check("ce.\(name)", logits, Loss.crossEntropy(logits, targets, labelSmoothing: smoothing, reduction: reduction))
        }
        let logits3 = try leaf("ce3.logits")
        try check("ce3", logits3, Loss.crossEntropy(logits3, try t("ce3.targets"), labelSmoothing: 0.1))
    }

    @Test func meanSquaredError() throws {
        let x = try leaf("mse.input")
        try check("mse", x, Loss.mse(x, try t("mse.target")))
    }

    @Test func binaryCrossEntropyWithLogits() throws {
        let targets = try t("bce.targets")
        for (name, reduction) in [("mean", Reduction.mean), ("sum", .sum)] {
            let z = try leaf("bce.logits")
            try check("bce.\(name)", z, Loss.binaryCrossEntropyWithLogits(z, targets, reduction: reduction))
        }
        let z = try leaf("bce.logits")
        try check("bce.pos_weight", z, Loss.binaryCrossEntropyWithLogits(z, targets, positiveWeight: try t("bce.pos_weight")))
    }
}
