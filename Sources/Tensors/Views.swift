/// View construction: new shape/strides over the same storage, no data movement.
extension Tensor {
    /// Dims reordered by `perm` (a view).
    func permutedView(_ perm: [Int]) -> Tensor {
        Tensor(storage: storage, shape: perm.map { shape[$0] }, strides: perm.map { strides[$0] },
               offset: offset, dtype: dtype)
    }

    /// Size-1 (or missing leading) dims repeated to `target` with stride 0 (a view).
    func expandedView(_ target: [Int]) -> Tensor {
        precondition(target.count >= rank, "expand: cannot expand shape \(shape) to fewer dims \(target)")
        let lead = target.count - rank
        var newStrides = [Int](repeating: 0, count: target.count)
        for i in 0..<target.count where i >= lead {
            let d = shape[i - lead]
            precondition(d == target[i] || d == 1, "expand: shape \(shape) cannot be expanded to \(target)")
            newStrides[i] = d == target[i] ? strides[i - lead] : 0
        }
        return Tensor(storage: storage, shape: target, strides: newStrides, offset: offset, dtype: dtype)
    }

    /// Elements `start..<end` by `step` along `dim` (a view); bounds already clamped.
    func slicedView(dim: Int, start: Int, end: Int, step: Int) -> Tensor {
        var newShape = shape, newStrides = strides
        newShape[dim] = Swift.max(0, (end - start + step - 1) / step)
        newStrides[dim] = strides[dim] * step
        return Tensor(storage: storage, shape: newShape, strides: newStrides,
                      offset: offset + (newShape[dim] > 0 ? start * strides[dim] : 0), dtype: dtype)
    }

    /// The same elements with `target` shape: a view when strides allow, else nil.
    func reshapedView(_ target: [Int]) -> Tensor? {
        if isContiguous {
            return Tensor(storage: storage, shape: target, offset: offset, dtype: dtype)
        }
        // Match groups of old dims to groups of new dims; each old group must be mergeable.
        var newStrides = [Int](repeating: 0, count: target.count)
        var oi = 0, ni = 0
        let old = zip(shape, strides).filter { $0.0 != 1 }
        let oldShape = old.map(\.0), oldStrides = old.map(\.1)
        while ni < target.count {
            if target[ni] == 1 { newStrides[ni] = 1; ni += 1; continue }
            guard oi < oldShape.count else { return nil }
            var oldSize = oldShape[oi], newSize = target[ni]
            var groupOld = [oi], groupNew = [ni]
            while oldSize != newSize {
                if oldSize < newSize {
                    oi += 1; guard oi < oldShape.count else { return nil }
                    oldSize *= oldShape[oi]; groupOld.append(oi)
                } else {
                    ni += 1; guard ni < target.count else { return nil }
                    newSize *= target[ni]; groupNew.append(ni)
                }
            }
            for j in groupOld.dropLast() where oldStrides[j] != oldStrides[j + 1] * oldShape[j + 1] { return nil }
            var s = oldStrides[groupOld.last!]
            for j in groupNew.reversed() {
                newStrides[j] = target[j] == 1 ? 1 : s
                s *= target[j]
            }
            oi += 1; ni += 1
        }
        return Tensor(storage: storage, shape: target, strides: newStrides, offset: offset, dtype: dtype)
    }
}
