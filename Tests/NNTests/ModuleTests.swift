import Foundation
import Testing
@testable import NN
import Tensors

// A miniature of BERT's structure, to check Hugging Face key names come out of the Swift structure.
final class SelfAttention: Module {
    let query = Linear(4, 4), key = Linear(4, 4), value = Linear(4, 4)
}

final class AttentionBlock: Module {
    @ModuleInfo(key: "self") var selfAttention = SelfAttention()
    @ModuleInfo(key: "LayerNorm") var layerNorm = LayerNorm(4)
    let dropout = Dropout(0.1)
}

final class Layer: Module {
    let attention = AttentionBlock()
}

final class Encoder: Module {
    @ModuleInfo(key: "layer") var layers: [Layer]
    init(layers: Int) { _layers.wrappedValue = (0..<layers).map { _ in Layer() } }
}

final class TinyModel: Module {
    let encoder: Encoder
    let pooler: Linear?
    @ParameterInfo(key: "scale_weight") var scale = Tensor.ones([2]).requiringGrad()
    @BufferInfo(key: "position_ids") var positionIds = Tensor.arange(0, 6)

    init(layers: Int = 2, pooler: Bool = true) {
        encoder = Encoder(layers: layers)
        self.pooler = pooler ? Linear(4, 4) : nil
    }
}

@Suite struct ModuleTests {
    @Test func keysFollowHuggingFaceNames() {
        let model = withRandomGenerator(seed: 1) { TinyModel() }
        let keys = model.namedParameters().map(\.0)
        #expect(keys.contains("encoder.layer.0.attention.self.query.weight"))
        #expect(keys.contains("encoder.layer.1.attention.LayerNorm.bias"))
        #expect(keys.contains("pooler.weight"))
        #expect(keys.contains("scale_weight"))
        #expect(!keys.contains("position_ids"))
        #expect(model.namedBuffers().map(\.0) == ["position_ids"])
        #expect(model.stateDict().count == keys.count + 1)
        // 2 layers × (3 linears of 20 + layer norm 8) + pooler 20 + scale 2.
        #expect(model.parameterCount() == 2 * (3 * 20 + 8) + 20 + 2)
        let withoutPooler = TinyModel(pooler: false)
        #expect(!withoutPooler.stateDict().keys.contains { $0.hasPrefix("pooler") })
    }

    @Test func sequentialAndModuleListUseIndices() {
        let seq = Sequential(Linear(2, 3), ReLU(), Linear(3, 1))
        #expect(seq.namedParameters().map(\.0) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        let list = ModuleList([Linear(2, 2, bias: false), Linear(2, 2, bias: false)])
        #expect(list.namedParameters().map(\.0) == ["0.weight", "1.weight"])
        #expect(list.count == 2)
    }

    @Test func stateDictRoundTripsThroughSafeTensors() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = withRandomGenerator(seed: 2) { TinyModel() }
        let target = withRandomGenerator(seed: 3) { TinyModel() }
        #expect(source.encoder.layers[0].attention.selfAttention.query.weight.toFloatArray()
                != target.encoder.layers[0].attention.selfAttention.query.weight.toFloatArray())
        try source.save(to: directory + "/model.safetensors", metadata: ["format": "pt"])
        let file = try SafeTensorsFile(path: directory + "/model.safetensors")
        #expect(file.entries["encoder.layer.1.attention.self.value.bias"]?.shape == [4])
        let weightBefore = target.encoder.layers[1].attention.selfAttention.value.weight
        let report = try target.load(from: directory + "/model.safetensors")
        #expect(report.isClean)
        // Loaded in place: the same tensor object now holds the source's values.
        #expect(target.encoder.layers[1].attention.selfAttention.value.weight === weightBefore)
        for (key, value) in source.stateDict() {
            #expect(target.stateDict()[key]!.toFloatArray() == value.toFloatArray(), "\(key)")
        }
    }

    @Test func assigningLoadSharesTheFilesPagesAndNeverWritesTheFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.safetensors"
        let source = withRandomGenerator(seed: 2) { TinyModel() }
        try source.save(to: path)
        let state = try SafeTensors.read(path: path)
        let target = withRandomGenerator(seed: 3) { TinyModel() }
        let query = target.encoder.layers[0].attention.selfAttention.query
        let viewed = target.encoder.layers[1].attention.selfAttention.key.weight
        let view = viewed.transposed(0, 1)   // a view of its storage: must keep seeing the tensor's values
        let weightBefore = query.weight
        #expect(try target.loadStateDict(state, assign: true).isClean)
        // Same tensor objects; the mapped pages used in place where no view exists, copied where one does.
        #expect(query.weight === weightBefore)
        #expect(query.weight.storage === state["encoder.layer.0.attention.self.query.weight"]!.storage)
        #expect(viewed.storage !== state["encoder.layer.1.attention.self.key.weight"]!.storage)
        #expect(view.transposed(0, 1).toFloatArray() == source.encoder.layers[1].attention.selfAttention.key.weight.toFloatArray())
        for (key, value) in source.stateDict() {
            #expect(target.stateDict()[key]!.toFloatArray() == value.toFloatArray(), "\(key)")
        }
        // Training writes into the pages, not the file.
        let original = query.weight.toFloatArray()
        withNoGrad { query.weight.scaleInPlace(2) }
        #expect(query.weight.toFloatArray() == original.map { $0 * 2 })
        #expect(try SafeTensors.read(path: path)["encoder.layer.0.attention.self.query.weight"]!.toFloatArray() == original)
        // Without `assign` (PyTorch's default), every tensor keeps its own storage.
        let copied = TinyModel()
        try copied.loadStateDict(state)
        #expect(copied.encoder.layers[0].attention.selfAttention.query.weight.storage
                !== state["encoder.layer.0.attention.self.query.weight"]!.storage)
    }

    @Test func loadReportListsMissingUnexpectedAndMisshapenKeys() throws {
        let model = TinyModel(layers: 1)
        var state = TinyModel(layers: 1).stateDict()
        state.removeValue(forKey: "pooler.bias")
        state["encoder.layer.0.attention.self.query.weight"] = Tensor.zeros([4, 5])
        state["cls.predictions.bias"] = Tensor.zeros([3])
        let untouched = model.encoder.layers[0].attention.selfAttention.query.weight.toFloatArray()
        let newKey = state["encoder.layer.0.attention.self.key.weight"]!.toFloatArray()

        #expect(throws: StateDictError.shapeMismatch(key: "encoder.layer.0.attention.self.query.weight",
                                                      expected: [4, 4], actual: [4, 5])) {
            try model.loadStateDict(state)
        }
        // A strict failure changes nothing.
        #expect(model.encoder.layers[0].attention.selfAttention.key.weight.toFloatArray() != newKey)

        let report = try model.loadStateDict(state, strict: false)
        #expect(report.missing == ["pooler.bias"])
        #expect(report.unexpected == ["cls.predictions.bias"])
        #expect(report.mismatched == [ShapeMismatch(key: "encoder.layer.0.attention.self.query.weight", expected: [4, 4], actual: [4, 5])])
        #expect(model.encoder.layers[0].attention.selfAttention.query.weight.toFloatArray() == untouched)
        #expect(model.encoder.layers[0].attention.selfAttention.key.weight.toFloatArray() == newKey)

        state["encoder.layer.0.attention.self.query.weight"] = Tensor.zeros([4, 4])
        #expect(throws: StateDictError.missingKeys(["pooler.bias"])) { try model.loadStateDict(state) }
    }

    @Test func trainAndEvalReachEveryModule() {
        let model = TinyModel()
        model.eval()
        #expect(model.modules().allSatisfy { !$0.training })
        #expect(!model.encoder.layers[1].attention.dropout.training)
        model.train()
        #expect(model.modules().allSatisfy { $0.training })
        // Dropout is the identity in eval mode only.
        let x = Tensor.ones([200])
        let dropout = Dropout(0.5)
        #expect(withRandomGenerator(seed: 4) { dropout(x) }.toFloatArray().contains(0))
        dropout.eval()
        #expect(dropout(x).toFloatArray() == x.toFloatArray())
    }

    @Test func frozenParametersGetNoGradientAndNoUpdate() {
        let model = withRandomGenerator(seed: 5) { MLP() }
        model.freeze(["fc1"])
        #expect(model.parameterCount(trainableOnly: true) == 8 * 3 + 3)
        let frozen = model.fc1.weight.toFloatArray()
        let trained = model.fc2.weight.toFloatArray()
        let sgd = SGD(parameters: model.namedParameters(), learningRate: 0.5)
        Loss.mse(model(Tensor.randn([5, 4], seed: 6)), Tensor.zeros([5, 3])).backward()
        #expect(model.fc1.weight.grad == nil)
        sgd.step()
        #expect(model.fc1.weight.toFloatArray() == frozen)
        #expect(model.fc2.weight.toFloatArray() != trained)
        model.unfreeze()
        #expect(model.parameterCount(trainableOnly: true) == model.parameterCount())
    }

    @Test func huggingFaceInitialization() {
        let model = withRandomGenerator(seed: 7) { Sequential(Linear(64, 64), LayerNorm(64)) }
        let embedding = Embedding(100, 64, paddingIndex: 1)
        withRandomGenerator(seed: 8) {
            Init.huggingFace(model, initializerRange: 0.02)
            Init.huggingFace(embedding, initializerRange: 0.02)
        }
        let linear = model.layers[0] as! Linear
        let w = linear.weight.toFloatArray()
        let std = (w.map { $0 * $0 }.reduce(0, +) / Float(w.count)).squareRoot()
        #expect(Swift.abs(std - 0.02) < 0.002)
        #expect(linear.bias!.toFloatArray().allSatisfy { $0 == 0 })
        #expect((model.layers[1] as! LayerNorm).weight.toFloatArray().allSatisfy { $0 == 1 })
        #expect(embedding.weight.selected(dim: 0, index: 1).toFloatArray().allSatisfy { $0 == 0 })
        // PyTorch's Linear default: Kaiming-uniform, all within ±1/√fan_in.
        let fresh = withRandomGenerator(seed: 9) { Linear(16, 8) }
        #expect(fresh.weight.toFloatArray().allSatisfy { Swift.abs($0) <= 0.25 })
        #expect(fresh.weight.toFloatArray().map(Swift.abs).max()! > 0.2)
    }

    @Test func tiedWeightsCountOnce() {
        final class Tied: Module {
            let embedding = Embedding(10, 4)
            let decoder = Linear(4, 10, bias: false)
            override init() {
                super.init()
                decoder.weight = embedding.weight
            }
        }
        let model = Tied()
        #expect(model.namedParameters().map(\.0) == ["embedding.weight", "decoder.weight"])
        #expect(model.parameters().count == 1 && model.parameterCount() == 40)
        #expect(SGD(parameters: model.namedParameters(), learningRate: 0.1).parameters.count == 1)
    }

    @Test func badFilesAndCheckpointsAreTypedErrors() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: SafeTensorsError.self) { try Linear(2, 2).load(from: directory + "/missing.safetensors") }
        let model = Linear(2, 2)
        let trainer = Trainer(model: model, optimizer: SGD(parameters: model.namedParameters(), learningRate: 0.1),
                              arguments: TrainingArguments(), trainData: TensorDataset(inputs: Tensor.zeros([2, 2]), targets: Tensor.zeros([2, 2])),
                              forward: { model($0.inputs) }, loss: { Loss.mse($0, $1.targets) })
        #expect(throws: CheckpointError.self) { try trainer.loadCheckpoint(from: directory) }
    }
}
