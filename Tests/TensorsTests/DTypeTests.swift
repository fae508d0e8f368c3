import Testing
@testable import Tensors

@Suite struct DTypeTests {
    @Test func byteSizes() {
        #expect(DType.float32.byteSize == 4)
        #expect(DType.int64.byteSize == 8)
        #expect(DType.bool.byteSize == 1)
        #expect(DType.int32.isInteger && !DType.float32.isInteger)
    }
}
