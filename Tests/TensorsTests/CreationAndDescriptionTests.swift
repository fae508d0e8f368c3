import Testing
@testable import Tensors

@Suite struct CreationAndDescriptionTests {
    @Test func seededRandomIsReproducible() {
        #expect(Tensor.randn([5], seed: 42).toFloatArray() == Tensor.randn([5], seed: 42).toFloatArray())
        #expect(Tensor.randn([5], seed: 42).toFloatArray() != Tensor.randn([5], seed: 43).toFloatArray())
        DefaultGenerator.seed(9)
        let a = Tensor.rand([4])
        DefaultGenerator.seed(9)
        #expect(Tensor.rand([4]).toFloatArray() == a.toFloatArray())
        var g = RandomGenerator(seed: 5)
        _ = g.next()
        var copy = RandomGenerator(state: g.state)!
        #expect(copy.next() == g.next())
    }

    @Test func randomDistributionsHaveTheRightMoments() {
        let n = Tensor.randn([20_000], mean: 1, std: 2, seed: 1)
        #expect(Swift.abs(n.mean().item() - 1) < 0.05)
        #expect(Swift.abs(n.variance().sqrt().item() - 2) < 0.05)
        let u = Tensor.rand([20_000], low: -1, high: 3, seed: 2)
        #expect(u.min().item() >= -1 && u.max().item() < 3)
        var g = RandomGenerator(seed: 3)
        #expect(Swift.abs(Tensor.bernoulli([20_000], p: 0.3, generator: &g).mean().item() - 0.3) < 0.02)
    }

    @Test func filledAndRanges() {
        #expect(Tensor.zeros([2, 2]).toFloatArray() == [0, 0, 0, 0])
        #expect(Tensor.ones([3], dtype: .int32).toIntArray() == [1, 1, 1])
        #expect(Tensor.full([2], 7).toFloatArray() == [7, 7])
        #expect(Tensor.arange(5).toIntArray() == [0, 1, 2, 3, 4])
        #expect(Tensor.arange(5, 0, step: -2).toIntArray() == [5, 3, 1])
        #expect(Tensor([[1, 2], [3, 4]] as [[Float]]).shape == [2, 2])
    }

    @Test func viewsShareStorage() {
        let x = Tensor.arange(0, 6, dtype: .float32).reshaped([2, 3])
        #expect(x.transposed().storage === x.storage)
        #expect(x.sliced(dim: 1, start: 1).storage === x.storage)
        #expect(x.unsqueezed(at: 0).expanded(to: [4, 2, 3]).storage === x.storage)
        #expect(!x.transposed().isContiguous)
        #expect(x.transposed().contiguous().toFloatArray() == [0, 3, 1, 4, 2, 5])
        #expect(x.transposed().reshaped([6]).toFloatArray() == [0, 3, 1, 4, 2, 5])
    }

    @Test func descriptionLooksLikePyTorch() {
        #expect(Tensor([[1, 2.5], [-3, 0]] as [[Float]]).description
                == "tensor([[1.0000, 2.5000],\n        [-3.0000, 0.0000]], shape: [2, 2])")
        #expect(Tensor([1, 2]).description == "tensor([1, 2], shape: [2], dtype: int64)")
        #expect(Tensor([true, false], shape: [2]).description == "tensor([True, False], shape: [2], dtype: bool)")
        let big = Tensor.arange(0, 2000, dtype: .float32).description
        #expect(big.contains("...") && big.contains("1999.0000") && !big.contains("1000.0000"))
        #expect(Tensor(Float(1e-6)).description == "tensor(1.0000e-06, shape: [])")
    }
}
