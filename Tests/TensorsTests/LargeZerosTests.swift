import Testing
@testable import Tensors

/// Zeroed storages of 1 MiB and more are anonymous pages: zero when read, writable, and independent of
/// each other (a write to one is not seen by another).
@Suite struct LargeZerosTests {
    @Test func largeZerosReadAsZeroAndTakeWrites() {
        let a = Tensor.zeros([512, 1024]), b = Tensor.zeros([512, 1024])
        #expect(a.sum().item() == 0 && b.sum().item() == 0)
        let p = a.pointer(as: Float.self)
        p[0] = 1; p[512 * 1024 - 1] = 2
        #expect(a.sum().item() == 3)
        #expect(b.sum().item() == 0)
        let c = a + 1
        #expect(c.sum().item() == Float(512 * 1024) + 3)
    }

    /// `Tensor.placeholder` (fresh pages from one page on, for parameters a checkpoint replaces): zeros
    /// of every size, each its own memory, and writable like any tensor.
    @Test func placeholdersAreIndependentZeros() {
        for shape in [[3], [384, 384], [1], [0, 4], [1024, 1024]] {
            let a = Tensor.placeholder(shape), b = Tensor.placeholder(shape)
            #expect(a.shape == shape && a.dtype == .float32)
            #expect(a.sum().item() == 0 && b.sum().item() == 0, "\(shape)")
            guard a.count > 0 else { continue }
            a.pointer(as: Float.self)[a.count - 1] = 5
            #expect(a.sum().item() == 5 && b.sum().item() == 0, "\(shape)")
        }
        #expect(Tensor.placeholder([2, 2], dtype: .int64).sum().item() == 0)
    }
}
