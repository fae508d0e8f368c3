/// An n-dimensional array on the CPU with reverse-mode automatic differentiation, in the spirit of
/// `torch.Tensor`.
///
/// A tensor is a view (shape, strides, offset) of a shared `Storage`. Ops return new tensors; views
/// (reshape of contiguous data, permute, expand, slice) share storage. When any input `requiresGrad`
/// and gradients are enabled (see `withNoGrad`), the result remembers how it was made and
/// `backward()` fills `grad` on the leaves.
///
/// ```swift
/// let w = Tensor.randn([3, 2], seed: 0).requiringGrad()
/// let loss = (Tensor([[1, 2, 3]]).matmul(w)).square().sum()
/// loss.backward()
/// print(w.grad!)
/// ```
public final class Tensor: @unchecked Sendable {
    /// Size of each dim.
    public let shape: [Int]
    /// Distance in elements between neighbours along each dim (0 for broadcast dims).
    public let strides: [Int]
    /// Index of the first element in `storage`, in elements.
    public let offset: Int
    /// Element type.
    public let dtype: DType
    /// The buffer holding the elements (replaced only by `adoptStorage(of:)`, when no view can see it).
    public internal(set) var storage: Storage

    /// Whether gradients flow to this tensor. Set it on leaves you want `grad` for.
    public var requiresGrad: Bool {
        didSet {
            precondition(gradNode == nil || requiresGrad, "requiresGrad: cannot be cleared on a non-leaf tensor; use detached()")
            precondition(!requiresGrad || dtype == .float32, "requiresGrad: only float32 tensors can require gradients, not \(dtype)")
        }
    }
    /// The accumulated gradient of a leaf after `backward()`; nil until then.
    public internal(set) var grad: Tensor?
    /// How this tensor was computed, for autograd; nil for leaves.
    var gradNode: GradNode?

    /// Wraps a storage region; the designated initializer every op ends in.
    public init(storage: Storage, shape: [Int], strides: [Int]? = nil, offset: Int = 0, dtype: DType) {
        self.storage = storage
        self.shape = shape
        self.strides = strides ?? Shape.contiguousStrides(shape)
        self.offset = offset
        self.dtype = dtype
        self.requiresGrad = false
    }

    /// Number of dims.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { Shape.count(shape) }
    /// Whether this tensor is a leaf of the autograd graph (made by the user, not by an op).
    public var isLeaf: Bool { gradNode == nil }

    /// Size of `dim` (negative counts from the end).
    public func size(_ dim: Int) -> Int { shape[Shape.normalize(dim, rank: rank, op: "size")] }

    /// Whether elements are laid out row-major with no gaps, so kernels can walk them linearly.
    public var isContiguous: Bool {
        var expected = 1
        for i in stride(from: rank - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected &*= shape[i]
        }
        return true
    }

    /// Whether the elements fill `count` consecutive slots of storage in some order of the dims (a
    /// contiguous tensor, or a permutation of one such as a transpose): no gaps, no repeats.
    public var isDense: Bool {
        var expected = 1
        for (stride, size) in zip(strides, shape).filter({ $0.1 != 1 }).sorted(by: { $0.0 < $1.0 }) {
            if stride != expected { return false }
            expected &*= size
        }
        return true
    }

    /// Pointer to the first element, typed. The caller respects `strides`.
    @inlinable public func pointer<T>(as type: T.Type) -> UnsafeMutablePointer<T> {
        storage.base.assumingMemoryBound(to: T.self) + offset
    }

    /// A tensor sharing this one's storage, cut off from autograd (`torch.Tensor.detach`).
    public func detached() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset, dtype: dtype)
    }

    /// Marks this leaf as requiring gradients and returns it, for chaining.
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        requiresGrad = flag
        return self
    }

    /// Clears the accumulated gradient (`zero_grad` with `set_to_none`).
    public func zeroGrad() { grad = nil }
}

// MARK: - Element access

extension Tensor {
    /// Calls `body` with the storage offset of every element in row-major order.
    func forEachOffset(_ body: (Int) -> Void) {
        let n = count
        if n == 0 { return }
        if isContiguous {
            for i in 0..<n { body(offset + i) }
            return
        }
        var index = [Int](repeating: 0, count: rank)
        var position = offset
        for _ in 0..<n {
            body(position)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                position += strides[d]
                if index[d] < shape[d] { break }
                position -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// The elements in row-major order converted to `Float` (bools as 0/1). Under a tracer this is
    /// a host read of the tensor's contents, which the tracer reports when the tensor depends on inputs.
    public func toFloatArray() -> [Float] {
        OpObservation.current?.didRead(self)
        return floatValues()
    }

    /// The elements in row-major order converted to `Int` (floats truncated toward zero).
    public func toIntArray() -> [Int] {
        OpObservation.current?.didRead(self)
        return intValues()
    }

    /// `toFloatArray` for kernels: no observer is told.
    func floatValues() -> [Float] {
        var out = [Float]()
        out.reserveCapacity(count)
        switch dtype {
        case .float32: let p = storage.base.assumingMemoryBound(to: Float.self); forEachOffset { out.append(p[$0]) }
        case .int32: let p = storage.base.assumingMemoryBound(to: Int32.self); forEachOffset { out.append(Float(p[$0])) }
        case .int64: let p = storage.base.assumingMemoryBound(to: Int64.self); forEachOffset { out.append(Float(p[$0])) }
        case .bool: let p = storage.base.assumingMemoryBound(to: Bool.self); forEachOffset { out.append(p[$0] ? 1 : 0) }
        }
        return out
    }

    /// `toIntArray` for kernels: no observer is told.
    func intValues() -> [Int] {
        var out = [Int]()
        out.reserveCapacity(count)
        switch dtype {
        case .float32: let p = storage.base.assumingMemoryBound(to: Float.self); forEachOffset { out.append(Int(p[$0])) }
        case .int32: let p = storage.base.assumingMemoryBound(to: Int32.self); forEachOffset { out.append(Int(p[$0])) }
        case .int64: let p = storage.base.assumingMemoryBound(to: Int64.self); forEachOffset { out.append(Int(p[$0])) }
        case .bool: let p = storage.base.assumingMemoryBound(to: Bool.self); forEachOffset { out.append(p[$0] ? 1 : 0) }
        }
        return out
    }

    /// The elements as bools (nonzero is true).
    public func toBoolArray() -> [Bool] { toFloatArray().map { $0 != 0 } }

    /// The single element of a one-element tensor as a `Float` (`torch.Tensor.item`).
    public func item() -> Float {
        precondition(count == 1, "item: tensor of shape \(shape) has \(count) elements, not 1")
        return toFloatArray()[0]
    }

    /// The element at a multi-index, as `Float`.
    public subscript(element index: Int...) -> Float {
        precondition(index.count == rank, "subscript: \(index.count) indices for a tensor of rank \(rank)")
        OpObservation.current?.didRead(self)
        var position = offset
        for (d, i) in index.enumerated() {
            let j = i < 0 ? i + shape[d] : i
            precondition(j >= 0 && j < shape[d], "subscript: index \(i) out of range for dim \(d) of size \(shape[d])")
            position += j * strides[d]
        }
        switch dtype {
        case .float32: return storage.base.assumingMemoryBound(to: Float.self)[position]
        case .int32: return Float(storage.base.assumingMemoryBound(to: Int32.self)[position])
        case .int64: return Float(storage.base.assumingMemoryBound(to: Int64.self)[position])
        case .bool: return storage.base.assumingMemoryBound(to: Bool.self)[position] ? 1 : 0
        }
    }
}
