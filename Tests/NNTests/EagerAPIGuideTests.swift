import Foundation
import Testing
import NN
import Tensors

/// The examples of docs/eager-api.md, as written there, with checks on what they compute: if the
/// guide's code stops compiling or doing what the guide says, this fails.
@Suite struct EagerAPIGuideTests {
    @Test func tensorsSection() {
        let x = Tensor([[1, 2, 3], [4, 5, 6]] as [[Float]])      // float32 [2, 3]
        let ids = Tensor([101, 7592, 102])                         // int64 [3]
        let mask = x .> 2                                          // bool [2, 3]
        let y = (x * 2 + 1).softmax(dim: -1)                       // broadcasting scalar ops
        let w = Tensor.randn([3, 4], seed: 0)                      // seeded: the same values on every run
        let h = x.matmul(w).gelu()                                 // OpenBLAS sgemm, no copies for transposed views
        #expect(x.dtype == .float32 && x.shape == [2, 3])
        #expect(ids.dtype == .int64 && ids.shape == [3])
        #expect(mask.dtype == .bool && mask.toIntArray() == [0, 0, 1, 1, 1, 1])
        #expect(abs(y.sum(dim: -1).toFloatArray()[0] - 1) < 1e-6)
        #expect(w.toFloatArray() == Tensor.randn([3, 4], seed: 0).toFloatArray())
        #expect(h.shape == [2, 4])
        #expect(x.transposed(0, 1).shape == [3, 2] && x.reshaped([3, -1]).shape == [3, 2])
        #expect(x.sum().item() == 21 && x.toFloatArray() == [1, 2, 3, 4, 5, 6])
    }

    @Test func autogradSection() {
        let x = Tensor([[1, 2, 3], [4, 5, 6]] as [[Float]])
        let w = Tensor.randn([3, 1], seed: 1).requiringGrad()
        let loss = (x.matmul(w) - 1).square().mean()
        loss.backward()                   // w.grad now holds dloss/dw
        let before = loss.item()
        withNoGrad { w.addInPlace(w.grad!, alpha: -0.01) }   // an SGD step
        w.zeroGrad()
        let after = withNoGrad { (x.matmul(w) - 1).square().mean() }.item()
        #expect(after < before)
        #expect(w.grad == nil || w.grad!.toFloatArray().allSatisfy { $0 == 0 })
    }

    @Test func safetensorsSection() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("guide-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(["w": Tensor.randn([2, 3], seed: 4)], metadata: ["format": "pt"], to: path)   // atomic
        let file = try SafeTensorsFile(path: path)                 // memory-mapped, header validated
        let q = try file.tensor("w")
        #expect(q.toFloatArray() == Tensor.randn([2, 3], seed: 4).toFloatArray())
    }

    @Test func modulesSection() {
        final class SelfAttention: Module {
            let query = Linear(8, 8), key = Linear(8, 8), value = Linear(8, 8)
        }
        final class Attention: Module {
            @ModuleInfo(key: "self") var selfAttention = SelfAttention()
            @ModuleInfo(key: "LayerNorm") var layerNorm = LayerNorm(8, eps: 1e-12)
        }
        final class Encoder: Module {
            @ModuleInfo(key: "layer") var layers: [Attention]
            init(layers: Int) { _layers.wrappedValue = (0..<layers).map { _ in Attention() } }
        }
        let keys = Encoder(layers: 2).stateDict().keys
        #expect(keys.contains("layer.0.self.query.weight") && keys.contains("layer.1.LayerNorm.bias"))
    }

    @Test func trainingSection() throws {
        // y = 2·x₁ − 3·x₂ + 1, as samples/train-basics.
        let inputs = Tensor.rand([64, 2], low: -1, high: 1, seed: 1)
        let targets = withNoGrad { inputs.matmul(Tensor([[2], [-3]] as [[Float]])) + 1 }
        let model = withRandomGenerator(seed: 0) { Sequential(Linear(2, 5), ReLU(), Linear(5, 1)) }
        let (train, validation) = TensorDataset(inputs: inputs, targets: targets).split(fraction: 0.75)
        var arguments = TrainingArguments(epochs: 30, batchSize: 16, learningRate: 0.05, seed: 42)
        arguments.showProgress = false
        let trainer = Trainer(model: model, optimizer: SGD(parameters: model.namedParameters(), learningRate: 0.05),
                              arguments: arguments, trainData: train, evalData: validation,
                              forward: { model($0.inputs) }, loss: { Loss.mse($0, $1.targets) })
        try trainer.train()
        let evaluations = trainer.evaluations
        #expect(evaluations.count == 30)
        #expect(evaluations.last!.loss < evaluations.first!.loss)
    }
}
