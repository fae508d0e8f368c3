/// A hash table from byte strings to integers that looks keys up straight from a buffer, without building a
/// String or an Array per lookup. Vocabularies (token → id) and the BPE word cache use it.
struct ByteTable: Sendable {
    private var keyBytes: [UInt8] = []
    private var keyStarts: [Int32] = [0]
    private var values: [Int32] = []
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: -1, count: size)
        mask = size - 1
    }

    /// The number of keys.
    var count: Int { values.count }

    @inline(__always)
    static func hash(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = start
        while i < end {
            h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3
            i += 1
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The value stored for the bytes `p[start..<end]`, or nil.
    @inline(__always)
    func value(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int32? {
        slots.withUnsafeBufferPointer { slots in
            keyBytes.withUnsafeBufferPointer { keys in
                keyStarts.withUnsafeBufferPointer { starts in
                    values.withUnsafeBufferPointer { values in
                        ByteTable.probe(slots, keys, starts, values, mask, p, start, end)
                    }
                }
            }
        }
    }

    /// The lookup itself, over the four arrays of a table: linear probing from the key's hash.
    @inline(__always)
    static func probe(_ slots: UnsafeBufferPointer<Int32>, _ keys: UnsafeBufferPointer<UInt8>,
                      _ starts: UnsafeBufferPointer<Int32>, _ values: UnsafeBufferPointer<Int32>, _ mask: Int,
                      _ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int32? {
        let length = end - start
        var slot = hash(p, start, end) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            let ks = Int(starts[entry])
            if Int(starts[entry + 1]) - ks == length {
                var i = 0
                while i < length, keys[ks + i] == p[start + i] { i += 1 }
                if i == length { return values[entry] }
            }
            slot = (slot + 1) & mask
        }
    }

    /// The value stored for `key`, or nil.
    func value<C: Collection<UInt8>>(for key: C) -> Int32? {
        let array = Array(key)
        return array.withUnsafeBufferPointer { value($0, 0, $0.count) }
    }

    /// Stores `value` for the bytes `p[start..<end]`; an existing key keeps its first value.
    mutating func insert(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, value: Int32) {
        if self.value(p, start, end) != nil { return }
        if (values.count + 1) * 2 > slots.count { grow() }
        let entry = Int32(values.count)
        keyBytes.append(contentsOf: p[start..<end])
        keyStarts.append(Int32(keyBytes.count))
        values.append(value)
        place(entry: entry, hash: ByteTable.hash(p, start, end))
    }

    /// Stores `value` for `key`; an existing key keeps its first value.
    mutating func insert<C: Collection<UInt8>>(_ key: C, value: Int32) {
        let array = Array(key)
        array.withUnsafeBufferPointer { insert($0, 0, $0.count, value: value) }
    }

    /// The arrays, for `FrozenByteTable`.
    var storage: (keyBytes: [UInt8], keyStarts: [Int32], values: [Int32], slots: [Int32]) {
        (keyBytes, keyStarts, values, slots)
    }

    /// Removes every key, keeping the storage.
    mutating func removeAll() {
        keyBytes.removeAll(keepingCapacity: true)
        keyStarts.removeAll(keepingCapacity: true)
        keyStarts.append(0)
        values.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = -1 }
    }

    private mutating func place(entry: Int32, hash: Int) {
        var slot = hash & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = entry
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = Array(repeating: -1, count: size)
        mask = size - 1
        let keys = keyBytes
        keys.withUnsafeBufferPointer { p in
            for entry in 0..<values.count {
                let h = ByteTable.hash(p, Int(keyStarts[entry]), Int(keyStarts[entry + 1]))
                place(entry: Int32(entry), hash: h)
            }
        }
    }
}

/// An immutable `ByteTable` in manually allocated memory, for vocabularies: lookups touch no reference
/// counts (a struct of arrays copied out of an enum payload costs a retain per array per word).
final class FrozenByteTable: @unchecked Sendable {
    private let keyBytes: UnsafeMutableBufferPointer<UInt8>
    private let keyStarts: UnsafeMutableBufferPointer<Int32>
    private let values: UnsafeMutableBufferPointer<Int32>
    private let slots: UnsafeMutableBufferPointer<Int32>
    private let mask: Int

    init(_ table: ByteTable) {
        let parts = table.storage
        func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
            let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, array.count))
            _ = buffer.initialize(from: array)
            return buffer
        }
        keyBytes = copy(parts.keyBytes)
        keyStarts = copy(parts.keyStarts)
        values = copy(parts.values)
        slots = copy(parts.slots)
        mask = parts.slots.count - 1
    }

    deinit {
        keyBytes.deallocate()
        keyStarts.deallocate()
        values.deallocate()
        slots.deallocate()
    }

    /// The value stored for the bytes `p[start..<end]`, or nil.
    @inline(__always)
    func value(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int32? {
        ByteTable.probe(UnsafeBufferPointer(slots), UnsafeBufferPointer(keyBytes), UnsafeBufferPointer(keyStarts),
                        UnsafeBufferPointer(values), mask, p, start, end)
    }
}
