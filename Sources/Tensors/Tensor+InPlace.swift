/// In-place updates for optimizers and buffers. They bypass autograd, so they may only touch tensors
/// that no recorded graph still reads: leaves, under `withNoGrad`.
extension Tensor {
    private func checkWritable(_ op: String) {
        precondition(isLeaf, "\(op): cannot write into a non-leaf tensor in place")
        precondition(!(requiresGrad && GradMode.isEnabled), "\(op): writing into a tensor that requires gradients needs withNoGrad { }")
    }

    /// Takes `source`'s elements by sharing its storage instead of copying them, where nothing could
    /// tell the two apart: the same dtype and shape, both dense from their storage's first byte, and
    /// this tensor's storage referenced by this tensor alone (no view of it exists, so none would keep
    /// the old elements). Returns false, changing nothing, otherwise; `assign` then copies.
    ///
    /// Why: a checkpoint's tensors are pages of the file mapped copy-on-write (`SafeTensors`), and
    /// copying them into a freshly built model touched every byte twice (all-MiniLM-L6-v2: 91 MB,
    /// ≈ 0.1 s of a 0.3 s `tcompile export`). Writing into the tensor afterwards (training) copies the
    /// pages it writes, never the file (`MAP_PRIVATE`).
    public func adoptStorage(of source: Tensor) -> Bool {
        let dense = Shape.contiguousStrides(shape)
        guard isLeaf, !requiresGrad || !GradMode.isEnabled, source.dtype == dtype, source.shape == shape,
              offset == 0, source.offset == 0, strides == dense, source.strides == dense,
              source.storage.byteCount >= count * dtype.byteSize,
              isKnownUniquelyReferenced(&storage) else { return false }
        storage = source.storage
        return true
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
