import Foundation
import Tensors

/// Weight initializers matching PyTorch's layer defaults and Hugging Face's `_init_weights`. All draw
/// from `NNRandom` (see `withRandomGenerator`), and return fresh leaf tensors.
public enum Init {
    /// Uniform in `[-bound, bound)`.
    public static func uniform(_ shape: [Int], bound: Float) -> Tensor {
        NNRandom.draw { Tensor.uniform(shape, low: -bound, high: bound, generator: &$0) }
    }

    /// Normal with `mean` and `std` (`nn.init.normal_`).
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        NNRandom.draw { Tensor.normal(shape, mean: mean, std: std, generator: &$0) }
    }

    /// Kaiming-uniform with negative slope `a` over fan-in = `shape[1...]` product
    /// (`nn.init.kaiming_uniform_`); `a = √5` is `nn.Linear`'s default, giving bound 1/√fan_in.
    public static func kaimingUniform(_ shape: [Int], a: Float = Float(5).squareRoot()) -> Tensor {
        let fanIn = shape.dropFirst().reduce(1, *)
        let gain = (2 / (1 + a * a)).squareRoot()
        return uniform(shape, bound: gain * (3 / Float(fanIn)).squareRoot())
    }

    /// Hugging Face's `_init_weights` over every module in `model`: Linear and Embedding weights
    /// normal(0, `initializerRange`), biases zero, an Embedding's padding row zero, LayerNorm weight
    /// one and bias zero.
    public static func huggingFace(_ model: Module, initializerRange: Float = 0.02) {
        withNoGrad {
            for module in model.modules() {
                switch module {
                case let linear as Linear:
                    linear.weight.assign(normal(linear.weight.shape, std: initializerRange))
                    linear.bias?.assign(Tensor.zeros([1]))
                case let embedding as Embedding:
                    embedding.weight.assign(normal(embedding.weight.shape, std: initializerRange))
                    embedding.zeroPaddingRow()
                case let norm as LayerNorm:
                    norm.weight.assign(Tensor.ones([1]))
                    norm.bias.assign(Tensor.zeros([1]))
                default: break
                }
            }
        }
    }
}
