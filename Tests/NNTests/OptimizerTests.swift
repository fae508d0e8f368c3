import Foundation
import Testing
@testable import NN
import Tensors

/// Optimizer steps on the fixtures' MLP against PyTorch (optimizers.safetensors): relative difference
/// of every updated parameter ≤ 1e-5.
@Suite struct OptimizerTests {
    let file: SafeTensorsFile
    init() throws { file = try fixture("optimizers") }

    /// The MLP with the fixture's initial weights.
    func model() throws -> MLP {
        let mlp = MLP()
        var state: [String: Tensor] = [:]
        for key in mlp.stateDict().keys { state[key] = try file.tensor("init." + key) }
        try mlp.loadStateDict(state)
        return mlp
    }

    func loss(_ mlp: MLP) throws -> Tensor {
        Loss.crossEntropy(mlp(try file.tensor("batch.x")), try file.tensor("batch.y"))
    }

    func expectParameters(_ mlp: MLP, _ prefix: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (key, value) in mlp.stateDict() {
            expectClose(value, try file.tensor("\(prefix).\(key)"), 1e-5, "\(prefix).\(key)", sourceLocation: sourceLocation)
        }
    }

    /// The optimizer the fixture script names `name`, with the same hyper-parameters.
    static func make(_ name: String, _ p: [(String, Tensor)]) -> Optimizer {
        switch name {
        case "sgd": SGD(parameters: p, learningRate: 0.1)
        case "sgd_momentum": SGD(parameters: p, learningRate: 0.1, momentum: 0.9, dampening: 0.1)
        case "sgd_nesterov": SGD(parameters: p, learningRate: 0.1, momentum: 0.9, nesterov: true)
        case "sgd_weight_decay": SGD(parameters: p, learningRate: 0.1, momentum: 0.5, weightDecay: 0.1)
        case "adam": Adam(parameters: p, learningRate: 0.01)
        case "adam_l2": Adam(parameters: p, learningRate: 0.01, betas: (0.8, 0.99), weightDecay: 0.1)
        case "adamw": AdamW(parameters: p, learningRate: 0.01, weightDecay: 0.1)
        default: preconditionFailure("no optimizer \(name)")
        }
    }

    @Test(arguments: ["sgd", "sgd_momentum", "sgd_nesterov", "sgd_weight_decay", "adam", "adam_l2", "adamw"])
    func stepsMatchPyTorch(_ name: String) throws {
        let mlp = try model()
        let optimizer = Self.make(name, mlp.namedParameters())
        for step in 1...3 {
            optimizer.zeroGrad()
            try loss(mlp).backward()
            optimizer.step()
            if step == 1 || step == 3 { try expectParameters(mlp, "\(name).step\(step)") }
        }
    }

    @Test(arguments: ["linear", "cosine"])
    func tenAdamWStepsWithClippingAndSchedule(_ kind: String) throws {
        let mlp = try model()
        let optimizer = AdamW(parameters: mlp.namedParameters(), learningRate: 0.05, weightDecay: 0.01)
        let schedule: any LearningRateSchedule = kind == "linear"
            ? LinearSchedule(warmupSteps: 3, totalSteps: 10) : CosineSchedule(warmupSteps: 3, totalSteps: 10)
        var norms: [Float] = []
        for step in 0..<10 {
            optimizer.learningRate = 0.05 * schedule.multiplier(at: step)
            optimizer.zeroGrad()
            try loss(mlp).backward()
            norms.append(clipGradientNorm(mlp.parameters(), maxNorm: 0.5))
            optimizer.step()
        }
        expectClose(Tensor(norms), try file.tensor("adamw10_\(kind).norms"), 1e-5, "pre-clip norms")
        try expectParameters(mlp, "adamw10_\(kind)")
    }

    @Test func stateSavesAndRestoresExactly() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let a = try model(), b = try model()
        let optA = Adam(parameters: a.namedParameters(), learningRate: 0.01)
        for _ in 0..<2 { optA.zeroGrad(); try loss(a).backward(); optA.step() }
        try SafeTensors.write(optA.stateDict(), to: directory + "/optimizer.safetensors")
        try b.loadStateDict(a.stateDict())
        let optB = Adam(parameters: b.namedParameters(), learningRate: 1)
        try optB.loadStateDict(SafeTensors.read(path: directory + "/optimizer.safetensors"))
        #expect(optB.stepCount == 2 && optB.learningRate == 0.01)
        for (m, opt) in [(a, optA), (b, optB)] { opt.zeroGrad(); try loss(m).backward(); opt.step() }
        for (key, value) in a.stateDict() { #expect(value.toFloatArray() == b.stateDict()[key]!.toFloatArray(), "\(key)") }

        #expect(throws: OptimizerStateError.self) {
            try optB.loadStateDict(["state.exp_avg.fc9.weight": Tensor.zeros([2])])
        }
    }

    @Test func schedules() {
        let linear = LinearSchedule(warmupSteps: 2, totalSteps: 6)
        #expect((0...7).map(linear.multiplier(at:)) == [0, 0.5, 1, 0.75, 0.5, 0.25, 0, 0])
        let cosine = CosineSchedule(warmupSteps: 0, totalSteps: 4)
        #expect(Swift.abs(cosine.multiplier(at: 2) - 0.5) < 1e-6 && cosine.multiplier(at: 4) < 1e-6)
    }
}
