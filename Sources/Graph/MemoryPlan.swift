/// Where every intermediate value of a graph lives in one arena, sized for the dims' upper bounds:
/// what memory planning computes and the code generator consumes (no allocation while a model runs).
///
/// Inputs, constants and graph outputs are not in the arena (the caller and the weights file own
/// them). A value planned `inPlace` reuses the buffer of the operand named there.
public struct MemoryPlan: Sendable, Equatable, CustomStringConvertible {
    /// One value's buffer.
    public struct Slot: Sendable, Equatable {
        /// Byte offset in the arena (a multiple of `alignment`).
        public var offset: Int
        /// Bytes at the dims' upper bounds.
        public var bytes: Int
        /// The operand whose buffer this value overwrites, when computed in place.
        public var inPlace: ValueID?

        public init(offset: Int, bytes: Int, inPlace: ValueID? = nil) {
            self.offset = offset
            self.bytes = bytes
            self.inPlace = inPlace
        }
    }

    /// Alignment of every slot, in bytes (AVX-512 loads).
    public static let alignment = 64

    /// Buffer of each planned value.
    public var slots: [ValueID: Slot]
    /// Arena size in bytes at the dims' upper bounds.
    public var arenaBytes: Int
    /// What one buffer per value would take: the sum of all planned values' (aligned) sizes.
    public var naiveBytes: Int

    public init(slots: [ValueID: Slot], arenaBytes: Int, naiveBytes: Int) {
        self.slots = slots
        self.arenaBytes = arenaBytes
        self.naiveBytes = naiveBytes
    }

    /// A summary line, then one line per value in offset order:
    /// `# arena 1.5 MiB (naive 12.0 MiB, 8.0x), 40 values, 12 in place` / `#   %12 @ 0 + 4096 (in place of %11)`.
    public var description: String {
        func mib(_ b: Int) -> String { String(format: "%.2f MiB", Double(b) / 1_048_576) }
        let ratio = arenaBytes == 0 ? 1 : Double(naiveBytes) / Double(arenaBytes)
        var out = "# arena \(arenaBytes) bytes = \(mib(arenaBytes)) (naive \(naiveBytes) bytes = \(mib(naiveBytes)), "
            + String(format: "%.1fx", ratio) + "), \(slots.count) values, \(slots.values.count { $0.inPlace != nil }) in place\n"
        for (id, s) in slots.sorted(by: { ($0.value.offset, $0.key) < ($1.value.offset, $1.key) }) {
            out += "#   %\(id) @ \(s.offset) + \(s.bytes)" + (s.inPlace.map { " (in place of %\($0))" } ?? "") + "\n"
        }
        return out
    }
}
