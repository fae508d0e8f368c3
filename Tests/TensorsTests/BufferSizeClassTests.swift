import Testing
@testable import Tensors

/// Buffers from 64 KiB on are allocated at one of eight size classes per power of two, so a buffer
/// that grows a little every step (a compiled generator's KV cache) reuses the one freed before it.
@Suite struct BufferSizeClassTests {
    @Test func classesCoverEverySizeWithinAnEighth() {
        #expect(BufferCache.sizeClass(100) == 100)
        #expect(BufferCache.sizeClass(BufferCache.minimum) == BufferCache.minimum)
        var previous = 0
        for size in stride(from: BufferCache.minimum, through: 40 << 20, by: 4093) {
            let c = BufferCache.sizeClass(size)
            #expect(c >= size && c * 8 <= size * 9, "\(size) → \(c)")
            #expect(c >= previous, "classes must grow with the size")
            #expect(BufferCache.sizeClass(c) == c, "a class is its own class")
            previous = c
        }
    }

    @Test func aCacheGrowingByOnePositionKeepsItsClassForManySteps() {
        // SmolLM2's per-layer key cache: 3 heads × 64 floats per position.
        let perPosition = 3 * 64 * 4
        // From 128 to 256 positions the size doubles: eight classes, and the one 256 starts.
        let classes = Set((128...256).map { BufferCache.sizeClass($0 * perPosition) })
        #expect(classes.count <= 9)
    }
}
