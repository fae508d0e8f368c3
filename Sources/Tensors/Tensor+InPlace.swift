/// In-place updates for optimizers and buffers. They bypass autograd, so they may only touch tensors
/// that no recorded graph still reads: leaves, under `withNoGrad`.
extension Tensor {
    private func checkWritable(_ op: String) {
        precondition(isLeaf, "\(op): cannot write into a non-leaf tensor in place")
        precondition(!(requiresGrad && GradMode.isEnabled), "\(op): writing into a tensor that requires gradients needs withNoGrad { }")
    }

    /// Overwrites every element with `source` (broadcast to this shape) (`torch.Tensor.copy_`).
    public func assign(_ source: Tensor) {
        checkWritable("assign")
        precondition(Shape.broadcast(source.shape, shape) == shape, "assign: shape \(source.shape) cannot be broadcast to \(shape)")
        ElementwiseKernels.copy(source.dtype == dtype ? source : ElementwiseKernels.cast(source, to: dtype), into: self)
    }

    /// `self += alpha · other` elementwise, in place (`torch.Tensor.add_`).
    public func addInPlace(_ other: Tensor, alpha: Float = 1) {
        checkWritable("add_")
        precondition(dtype == .float32 && other.dtype == .float32, "add_: expects float32 tensors")
        precondition(Shape.broadcast(other.shape, shape) == shape, "add_: shape \(other.shape) cannot be broadcast to \(shape)")
        let p = ElementwiseKernels.plan(self, [self, other])
        let o = pointer(as: Float.self)
        zipLoop(p, o, UnsafePointer(o), UnsafePointer(other.pointer(as: Float.self))) { $0 + alpha * $1 }
    }

    /// `self *= s` elementwise, in place (`torch.Tensor.mul_`).
    public func scaleInPlace(_ s: Float) {
        checkWritable("mul_")
        precondition(dtype == .float32, "mul_: expects a float32 tensor")
        let o = pointer(as: Float.self)
        mapLoop(ElementwiseKernels.plan(self, [self]), o, UnsafePointer(o)) { $0 * s }
    }

    /// Replaces the accumulated gradient (for optimizers and gradient clipping).
    public func setGrad(_ gradient: Tensor?) {
        if let gradient { precondition(gradient.shape == shape, "setGrad: shape \(gradient.shape) differs from \(shape)") }
        grad = gradient
    }
}
