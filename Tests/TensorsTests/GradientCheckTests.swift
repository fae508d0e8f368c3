import Testing
@testable import Tensors

/// Compares autograd gradients with central finite differences of `sum(f(inputs) · w)` for a fixed
/// random `w`, for every input that requires gradients.
func checkGradients(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 4e-3, rtol: Float = 4e-3,
                    _ label: String, sourceLocation: SourceLocation = #_sourceLocation,
                    _ f: ([Tensor]) -> Tensor) {
    let probe = withNoGrad { f(inputs) }
    let weights = Tensor.uniform(probe.shape, low: -1, high: 1, generator: &seededGenerator)
    func loss() -> Float { withNoGrad { (f(inputs) * weights).sum().item() } }
    for x in inputs { x.zeroGrad() }
    (f(inputs) * weights).sum().backward()
    for (k, x) in inputs.enumerated() where x.requiresGrad {
        guard let analytic = x.grad else {
            Issue.record("\(label): input \(k) got no gradient", sourceLocation: sourceLocation)
            continue
        }
        var numeric = [Float](repeating: 0, count: x.count)
        let p = x.pointer(as: Float.self)
        for j in 0..<x.count {
            let saved = p[j]
            p[j] = saved + eps
            let up = loss()
            p[j] = saved - eps
            let down = loss()
            p[j] = saved
            numeric[j] = (up - down) / (2 * eps)
        }
        expectClose(analytic, Tensor(numeric, shape: x.shape), atol: atol, rtol: rtol, "\(label) input \(k)",
                    sourceLocation: sourceLocation)
    }
}

nonisolated(unsafe) var seededGenerator = RandomGenerator(seed: 7)

/// A leaf with values in [low, high) that requires gradients.
func leaf(_ shape: [Int], _ seed: UInt64, low: Float = -1.5, high: Float = 1.5) -> Tensor {
    Tensor.rand(shape, low: low, high: high, seed: seed).requiringGrad()
}

@Suite(.serialized) struct GradientCheckTests {
    @Test(arguments: UnaryOp.allCases.filter { $0 != .logicalNot })
    func unary(_ op: UnaryOp) {
        let positive = [UnaryOp.log, .sqrt, .rsqrt].contains(op)
        // Avoid the kinks of abs and relu at 0.
        let x = leaf([3, 4], 11, low: positive ? 0.3 : 0.2, high: 2)
        let sign = Tensor([1, -1, 1, -1] as [Float], shape: [4])
        checkGradients([x], "unary \(op)") { Tensor.apply(.unary(op), [$0[0] * (positive ? Tensor(1) : sign)]) }
    }

    @Test(arguments: [BinaryOp.add, .sub, .mul, .div, .pow, .maximum, .minimum])
    func binaryWithBroadcasting(_ op: BinaryOp) {
        let a = leaf([2, 3, 4], 21, low: 0.5, high: 2), b = leaf([3, 1], 22, low: 0.5, high: 2)
        checkGradients([a, b], "binary \(op)") { Tensor.apply(.binary(op), [$0[0], $0[1]]) }
    }

    @Test(arguments: [BinaryOp.add, .sub, .mul, .div, .pow, .maximum, .minimum])
    func binaryScalar(_ op: BinaryOp) {
        let x = leaf([5], 31, low: 0.5, high: 2)
        for scalarFirst in [false, true] {
            checkGradients([x], "scalar \(op) first=\(scalarFirst)") {
                Tensor.apply(.binaryScalar(op, scalar: 1.25, scalarFirst: scalarFirst), [$0[0]])
            }
        }
    }

    @Test func reductions() {
        let x = leaf([3, 4, 5], 41)
        checkGradients([x], "sum") { $0[0].sum(dims: [0, 2]) }
        checkGradients([x], "sum all") { $0[0].sum() }
        checkGradients([x], "mean keepdim") { $0[0].mean(dim: 1, keepDim: true) }
        checkGradients([x], "max") { $0[0].max(dim: -1) }
        checkGradients([x], "min") { $0[0].min(dims: [0, 1]) }
        checkGradients([x], "variance") { $0[0].variance(dims: [2]) }
    }

    @Test func softmaxFamily() {
        let x = leaf([2, 3, 4], 51, low: -3, high: 3)
        checkGradients([x], "softmax last") { $0[0].softmax(dim: -1) }
        checkGradients([x], "softmax dim 1") { $0[0].softmax(dim: 1) }
        checkGradients([x], "log softmax dim 0") { $0[0].logSoftmax(dim: 0) }
    }

    @Test func matmulShapesAndTransposedViews() {
        let a = leaf([2, 3, 4], 61), b = leaf([4, 5], 62), v = leaf([4], 63), c = leaf([1, 5, 4], 64)
        checkGradients([a, b], "stack × matrix") { $0[0].matmul($0[1]) }
        checkGradients([a, v], "batched × vector") { $0[0].matmul($0[1]) }
        checkGradients([v, b], "vector × matrix") { $0[0].matmul($0[1]) }
        checkGradients([a, c], "broadcast batch, transposed view") { $0[0].matmul($0[1].transposed(-1, -2)) }
        checkGradients([a], "A·Aᵀ (non-contiguous operand)") { $0[0].matmul($0[0].transposed(1, 2)) }
    }

    @Test func layerNorm() {
        let x = leaf([2, 3, 6], 71, low: -2, high: 2), w = leaf([6], 72), b = leaf([6], 73)
        checkGradients([x, w, b], "affine") { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        checkGradients([x], "over two dims, transposed input") { $0[0].transposed(0, 1).layerNorm(normalizedRank: 2) }
    }

    @Test func movementOps() {
        let x = leaf([2, 3, 4], 81)
        checkGradients([x], "permute+reshape") { $0[0].permuted([2, 0, 1]).reshaped([4, 6]) }
        checkGradients([x], "expand") { $0[0].sliced(dim: 1, start: 0, end: 1).expanded(to: [2, 5, 4]) }
        checkGradients([x], "slice with step") { $0[0].sliced(dim: 2, start: 1, step: 2) }
        checkGradients([x], "select") { $0[0].selected(dim: 1, index: -1) }
        let y = leaf([2, 2, 4], 82)
        checkGradients([x, y], "concat") { Tensor.concat([$0[0], $0[1]], dim: 1) }
        checkGradients([x, x], "stack") { Tensor.stack([$0[0], $0[1].transposed(0, 1).transposed(0, 1)], dim: 0) }
        checkGradients([x], "split + recombine") { let p = $0[0].split(size: 2, dim: 1); return p[0] * 2 + p[1].sum(dim: 1, keepDim: true) }
        checkGradients([x], "unsqueeze/squeeze/flatten") { $0[0].unsqueezed(at: 1).squeezed(at: 1).flattened(startDim: 1) }
    }

    @Test func indexingAndSelection() {
        let table = leaf([6, 3], 91)
        let ids = Tensor([0, 5, 5, 2], shape: [2, 2])
        checkGradients([table], "embedding with repeats") { $0[0].indexSelect(dim: 0, index: ids) }
        let x = leaf([3, 4], 92)
        let index = Tensor([0, 3, 3, 1, 2, 2], shape: [3, 2])
        checkGradients([x], "gather") { $0[0].gather(dim: 1, index: index) }
        let a = leaf([3, 4], 93), b = leaf([4], 94)
        let mask = Tensor([true, false, true, false], shape: [4])
        checkGradients([a, b], "where") { Tensor.where(mask, $0[0], $0[1]) }
        checkGradients([a], "maskedFill") { $0[0].maskedFill(mask, -5) }
        checkGradients([a], "clamp") { $0[0].clamped(min: -0.7, max: 0.9) }
    }

    @Test func crossEntropyAndDropout() {
        let logits = leaf([5, 4], 101, low: -2, high: 2)
        let targets = Tensor([3, -100, 0, 1, 3])
        checkGradients([logits], "cross entropy, ignore index") { Tensor.crossEntropy($0[0], targets) }
        checkGradients([logits], "cross entropy, smoothing, sum") {
            Tensor.crossEntropy($0[0], targets, labelSmoothing: 0.1, reduction: .sum)
        }
        let x = leaf([4, 4], 102)
        checkGradients([x], "dropout with a fixed generator") {
            var g = RandomGenerator(seed: 3)
            return $0[0].dropout(p: 0.3, training: true, generator: &g)
        }
    }
}
