import Testing
@testable import Tensors

/// The eager kernels that split their work over the eager threads (elementwise maps,
/// broadcast binaries, softmax and layer-norm rows, attention heads) give the same bits with one
/// thread as with several, and the right values (checked against scalar loops).
@Suite struct ParallelKernelTests {
    /// `body` evaluated with the eager kernels split over 1 and then 3 threads. Only this task's count
    /// changes (`ParallelRanges.threadCountOverride`): tests running alongside compare eager results
    /// bit for bit, and OpenBLAS's own thread count changes its summation order.
    static func withOneAndThreeThreads(_ body: () -> Tensor) -> (one: [Float], three: [Float]) {
        let one = ParallelRanges.$threadCountOverride.withValue(1) { body().toFloatArray() }
        let three = ParallelRanges.$threadCountOverride.withValue(3) { body().toFloatArray() }
        return (one, three)
    }

    // 600 × 384 = 230,400 elements: above the parallel grain, not a multiple of the thread count.
    static let x = Tensor.randn([600, 384], seed: 11)
    static let bias = Tensor.randn([384], seed: 12)

    @Test func unaryMaps() {
        for op in [UnaryOp.gelu, .exp, .tanh] {
            let (one, three) = Self.withOneAndThreeThreads { ElementwiseKernels.unary(op, Self.x) }
            #expect(one == three, "\(op)")
        }
        let relu = Self.withOneAndThreeThreads { Self.x.relu() }
        #expect(relu.three == Self.x.toFloatArray().map { Swift.max($0, 0) })
    }

    @Test func binaryOneRunAndBroadcastRuns() {
        let y = Tensor.randn([600, 384], seed: 13)
        let sum = Self.withOneAndThreeThreads { Self.x + y }
        #expect(sum.one == sum.three)
        #expect(sum.three == zip(Self.x.toFloatArray(), y.toFloatArray()).map { $0 + $1 })
        // A bias broadcast over rows (one run per row) and a column broadcast (stride-0 operand).
        let biased = Self.withOneAndThreeThreads { Self.x + Self.bias }
        let xs = Self.x.toFloatArray(), bs = Self.bias.toFloatArray()
        #expect(biased.one == biased.three)
        #expect(biased.three == xs.indices.map { xs[$0] + bs[$0 % 384] })
        let column = Tensor.randn([600, 1], seed: 14)
        let scaled = Self.withOneAndThreeThreads { Self.x * column }
        let cs = column.toFloatArray()
        #expect(scaled.three == xs.indices.map { xs[$0] * cs[$0 / 384] })
    }

    @Test func softmaxAndLayerNormRows() {
        let softmax = Self.withOneAndThreeThreads { Self.x.softmax(dim: -1) }
        #expect(softmax.one == softmax.three)
        let rowSums = Tensor(softmax.three, shape: [600, 384]).sum(dim: -1).toFloatArray()
        #expect(rowSums.allSatisfy { abs($0 - 1) < 1e-5 })
        let weight = Tensor.randn([384], seed: 15)
        let norm = Self.withOneAndThreeThreads { Self.x.layerNorm(normalizedRank: 1, weight: weight, bias: Self.bias) }
        #expect(norm.one == norm.three)
    }

    @Test func attentionHeads() throws {
        let q = Tensor.randn([2, 5, 64, 16], seed: 16), k = Tensor.randn([2, 5, 64, 16], seed: 17)
        let v = Tensor.randn([2, 5, 64, 16], seed: 18), mask = Tensor.randn([2, 1, 1, 64], seed: 19)
        let fused = Self.withOneAndThreeThreads { withNoGrad { Tensor.attention(q, k, v, mask: mask) } }
        #expect(fused.one == fused.three)
        #expect(fused.three == FusedAttentionTests.reference(q, k, v, mask).toFloatArray())
    }
}
