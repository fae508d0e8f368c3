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
}
