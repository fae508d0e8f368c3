// The PyTorch example every tutorial starts with, in Swift: a 2 → 5 → 1 network learns
// y = 2·x₁ − 3·x₂ + 1 with mean squared error and SGD, printing the loss as it falls.
//
//   swift run train-basics [--epochs N]
import Foundation
import NN
import Tensors

var epochs = 100
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--epochs":
        guard let value = arguments.popFirst().flatMap(Int.init), value > 0 else {
            print("train-basics: --epochs needs a positive number")
            exit(2)
        }
        epochs = value
    case "-h", "--help":
        print("usage: train-basics [--epochs N]   (default 100)")
        exit(0)
    default:
        print("train-basics: unknown option \(argument); try --help")
        exit(2)
    }
}

// Data: 64 points in [-1, 1)², with the target a linear function of them.
let x = Tensor.rand([64, 2], low: -1, high: 1, seed: 1)
let y = withNoGrad { x.matmul(Tensor([[2], [-3]])) + 1 }

// The model, as `nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 1))`.
let model = withRandomGenerator(seed: 0) { Sequential(Linear(2, 5), ReLU(), Linear(5, 1)) }
let optimizer = SGD(parameters: model.namedParameters(), learningRate: 0.1)
print("model: \(model.parameterCount()) parameters: \(model.namedParameters().map { "\($0.0) \($0.1.shape)" }.joined(separator: ", "))")

var first: Float = 0, last: Float = 0
for epoch in 1...epochs {
    optimizer.zeroGrad()
    let loss = Loss.mse(model(x), y)
    loss.backward()
    optimizer.step()
    last = loss.item()
    if epoch == 1 { first = last }
    if epoch == 1 || epoch % 10 == 0 || epoch == epochs {
        print("epoch \(epoch): loss \(last)")
    }
}
print("loss \(first) → \(last)")
