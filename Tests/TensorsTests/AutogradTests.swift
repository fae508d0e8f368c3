import Testing
@testable import Tensors

@Suite struct AutogradTests {
    @Test func gradientsAccumulateUntilZeroed() {
        let w = Tensor([1, 2, 3] as [Float]).requiringGrad()
        (w * 2).sum().backward()
        (w * w).sum().backward()
        #expect(w.grad!.toFloatArray() == [4, 6, 8])
        w.zeroGrad()
        #expect(w.grad == nil)
        w.sum().backward()
        #expect(w.grad!.toFloatArray() == [1, 1, 1])
    }

    @Test func nonScalarBackwardTakesASeed() {
        let x = Tensor([1, 2] as [Float]).requiringGrad()
        let y = x * 3
        y.backward(Tensor([10, 100] as [Float]))
        #expect(x.grad!.toFloatArray() == [30, 300])
    }

    @Test func noGradAndDetachStopRecording() {
        let x = Tensor([1, 2] as [Float]).requiringGrad()
        let y = withNoGrad { x * 2 }
        #expect(!y.requiresGrad && y.isLeaf)
        #expect(GradMode.isEnabled)
        let z = x.detached() * 2
        #expect(!z.requiresGrad)
        let w = x * 2
        #expect(w.requiresGrad && !w.isLeaf)
        #expect(w.description.contains("grad: mul"))
    }

    @Test func sharedSubexpressionsSumTheirGradients() {
        let x = Tensor([0.5, -1] as [Float]).requiringGrad()
        let h = x.exp()
        (h * h + h).sum().backward()
        let e = x.toFloatArray().map { Foundation_exp($0) }
        for (g, v) in zip(x.grad!.toFloatArray(), e) { #expect(Swift.abs(g - (2 * v * v + v)) < 1e-5) }
    }

    @Test func onlyFloatTensorsRequireGrad() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor([1, 2]).requiringGrad()
        }
    }

    @Test func mixingDtypesIsAClearError() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor([1, 2] as [Float]) + Tensor([1, 2])
        }
    }
}

private func Foundation_exp(_ x: Float) -> Float { Float(Tensors.libmExp(x)) }
