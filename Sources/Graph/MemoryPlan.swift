import Foundation

/// Where every intermediate value of a graph lives in one workspace, sized for the dims' upper
/// bounds: computed by the `plan-memory` pass for the compile report and by the code generator,
/// which places every buffer exactly here (no allocation while a model runs). Its `arenaBytes` is
/// the compiled kernel's workspace size.
///
/// Walking the nodes in order, each kernel's result and temporaries (`KernelFootprint`) are placed
/// first-fit among the buffers live at that point; a buffer is free once the last reader of its
/// value, or of any view of it, has run. Views (reshape of contiguous data, permute, expand, slice)
/// have no buffer: they read their source's. A result is computed **in place** over an operand the
/// kernel may overwrite when that operand owns its buffer (not a view), has the result's type, is
/// read by no other operand of the node, and this node is the buffer's last reader. Inputs and
/// constants live outside (the caller and the weights own them); graph outputs are computed here and
/// copied out at the end. The task scratch of the calling thread comes last.
public struct MemoryPlan: Sendable, Equatable, CustomStringConvertible {
    /// One buffer.
    public struct Slot: Sendable, Equatable {
        /// Byte offset in the workspace (a multiple of `alignment`).
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

    /// Alignment of every buffer, in bytes (AVX-512 loads).
    public static let alignment = 64

    /// The buffer of each value a kernel computes into the workspace (views have none).
    public var slots: [ValueID: Slot]
    /// The contiguous copies each node's kernel makes while it runs, in its footprint's order.
    public var temporaries: [ValueID: [Slot]]
    /// Where the calling thread's task scratch starts: after every buffer.
    public var scratchOffset: Int
    /// Task scratch bytes per thread: the most any kernel declares (pool threads get the same).
    public var scratchBytes: Int
    /// Workspace bytes at the dims' upper bounds: buffers, then scratch.
    public var arenaBytes: Int { scratchOffset + scratchBytes }
    /// What one buffer per value and temporary would take (the sum of their sizes, plus scratch).
    public var naiveBytes: Int

    public init(slots: [ValueID: Slot], temporaries: [ValueID: [Slot]] = [:], scratchOffset: Int, scratchBytes: Int = 0, naiveBytes: Int) {
        self.slots = slots
        self.temporaries = temporaries
        self.scratchOffset = scratchOffset
        self.scratchBytes = scratchBytes
        self.naiveBytes = naiveBytes
    }

    /// Plans `graph` for kernels whose GEMMs run at `precision` (their task scratch differs).
    public init(_ graph: Graph, precision: Precision = .fp32) {
        let corners = Self.boundCorners(graph.symbols)
        func bound(_ d: SymbolicInt) -> Int { corners.map { Swift.max(0, d.evaluate($0) ?? 0) }.max() ?? 0 }
        func bytes(_ t: TensorType) -> Int {
            let count = corners.map { b in t.shape.reduce(1) { Self.product($0, Swift.max(0, $1.evaluate(b) ?? 0)) } }.max() ?? 0
            return Self.aligned(Self.product(count, t.dtype.byteSize))
        }
        let types = Dictionary(graph.nodes.map { ($0.id, $0.type) }, uniquingKeysWith: { a, _ in a })   // verified: distinct
        // Static layout: which values may be strided views, and whose buffer each value reads.
        var strided: Set<ValueID> = []
        var root: [ValueID: ValueID] = [:]
        var footprints: [KernelFootprint] = []
        for node in graph.nodes {
            let footprint = KernelFootprint.of(node, in: graph, precision: precision, strided: { strided.contains($0) }, bound: bound)
            footprints.append(footprint)
            if Self.isStridedView(node, types: types, strided: strided) { strided.insert(node.id) }
            if footprint.isView { root[node.id] = root[node.inputs[0]] } else if node.op.computes { root[node.id] = node.id }
        }
        // The last node reading each buffer, through its own value or any view of it.
        var lastReader: [ValueID: Int] = [:]
        for (i, node) in graph.nodes.enumerated() {
            if let r = root[node.id] { lastReader[r] = Swift.max(lastReader[r] ?? i, i) }
            for v in node.inputs { if let r = root[v] { lastReader[r] = Swift.max(lastReader[r] ?? i, i) } }
        }
        for output in graph.outputs { if let r = root[output.value] { lastReader[r] = Int.max } }

        var slots: [ValueID: Slot] = [:], temporaries: [ValueID: [Slot]] = [:]
        var live: [ValueID: (offset: Int, bytes: Int)] = [:]   // buffer owner → block
        var top = 0, scratch = 0, naive = 0
        func place(_ size: Int) -> Int {
            var offset = 0
            for block in live.values.sorted(by: { $0.offset < $1.offset }) {
                if Self.sum(offset, size) <= block.offset { break }
                offset = Swift.max(offset, Self.sum(block.offset, block.bytes))
            }
            top = Swift.max(top, Self.sum(offset, size))
            return offset
        }
        for (i, node) in graph.nodes.enumerated() {
            let footprint = footprints[i]
            if root[node.id] == node.id {
                let size = bytes(node.type)
                naive = Self.sum(naive, size)
                let donor = footprint.mayOverwrite.map { node.inputs[$0] }.first { o in
                    root[o] == o && types[o] == node.type && lastReader[o] == i && live[o] != nil
                        && node.inputs.allSatisfy { root[$0] != o || $0 == o }
                }
                if let donor, let block = live.removeValue(forKey: donor) {
                    live[node.id] = block
                    slots[node.id] = Slot(offset: block.offset, bytes: size, inPlace: donor)
                } else {
                    let offset = place(size)
                    live[node.id] = (offset, size)
                    slots[node.id] = Slot(offset: offset, bytes: size)
                }
            }
            var temporaryOwners: [ValueID] = []
            for (k, type) in footprint.temporaries.enumerated() {
                let size = bytes(type), offset = place(size)
                naive = Self.sum(naive, size)
                let owner = -1 - (i * 16 + k)   // a key no value uses
                live[owner] = (offset, size)
                temporaryOwners.append(owner)
                temporaries[node.id, default: []].append(Slot(offset: offset, bytes: size))
            }
            scratch = Swift.max(scratch, Self.aligned(Swift.min(footprint.scratchBytes, Self.saturatedBytes)))
            for owner in temporaryOwners { live[owner] = nil }
            for v in node.inputs + [node.id] { if let r = root[v], lastReader[r] == i { live[r] = nil } }
        }
        self.init(slots: slots, temporaries: temporaries, scratchOffset: top, scratchBytes: scratch, naiveBytes: Self.sum(naive, scratch))
    }

    /// Sizes saturate here rather than overflow: a graph whose bounds need more bytes than any machine
    /// has is planned with this many, and the code generator refuses it naming the size
    /// (`maximumWorkspaceBytes`). Far below `Int.max`, so sums of a few saturated sizes stay exact.
    public static let saturatedBytes = 1 << 60
    /// The largest workspace a compiled model may need: 2⁴⁷ bytes (128 TiB), the user address space
    /// of x86-64 Linux. Bounds needing more are a compile error that says how many bytes.
    public static let maximumWorkspaceBytes = 1 << 47
    /// Whether the plan fits `maximumWorkspaceBytes`.
    public var fitsInMemory: Bool { arenaBytes <= Self.maximumWorkspaceBytes }

    static func sum(_ a: Int, _ b: Int) -> Int {
        let (r, overflow) = a.addingReportingOverflow(b)
        return overflow || r > saturatedBytes ? saturatedBytes : r
    }

    static func product(_ a: Int, _ b: Int) -> Int {
        let (r, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow || r > saturatedBytes ? saturatedBytes : r
    }

    /// Whether `node`'s result may be a strided view: a permute that moves dims, an expand that
    /// broadcasts, a slice with a step or below a dim longer than 1, or any of these over a strided
    /// value. Everything else is row-major contiguous.
    static func isStridedView(_ node: Graph.Node, types: [ValueID: TensorType], strided: Set<ValueID>) -> Bool {
        guard case .primitive(let op, _) = node.op, let source = node.inputs.first else { return false }
        let sourceStrided = strided.contains(source), sourceType = types[source]!
        switch op {
        case .permute(let perm): return sourceStrided || perm != Array(0..<perm.count)
        case .expand: return sourceStrided || node.type.shape != sourceType.shape
        case .slice(let dim, _, _, let step):
            return sourceStrided || step != 1 || !(0..<dim).allSatisfy { sourceType.shape[$0] == 1 }
        default: return false
        }
    }

    /// `bytes` rounded up to `alignment`.
    static func aligned(_ bytes: Int) -> Int { (Swift.min(bytes, saturatedBytes) + alignment - 1) / alignment * alignment }

    /// Every combination of each dim at its lower and upper bound (sizes are polynomials; the
    /// largest value over the corners bounds them for the shapes transformers produce).
    static func boundCorners(_ symbols: [DimSymbol]) -> [[String: Int]] {
        var out: [[String: Int]] = [[:]]
        for s in symbols.prefix(12) {
            out = out.flatMap { b in [s.min, s.max].map { v in var c = b; c[s.name] = v; return c } }
        }
        return out
    }

    /// A summary line, then one line per value in offset order:
    /// `# arena 1.5 MiB (naive 12.0 MiB, 8.0x), 40 values, 12 in place, scratch 4096` / `#   %12 @ 0 + 4096 (in place of %11)`.
    public var description: String {
        func mib(_ b: Int) -> String { String(format: "%.2f MiB", Double(b) / 1_048_576) }
        let ratio = arenaBytes == 0 ? 1 : Double(naiveBytes) / Double(arenaBytes)
        var out = "# arena \(arenaBytes) bytes = \(mib(arenaBytes)) (naive \(naiveBytes) bytes = \(mib(naiveBytes)), "
            + String(format: "%.1fx", ratio) + "), \(slots.count) values, \(slots.values.count { $0.inPlace != nil }) in place, "
            + "\(temporaries.values.reduce(0) { $0 + $1.count }) temporaries, task scratch \(scratchBytes) bytes at \(scratchOffset)\n"
        for (id, s) in slots.sorted(by: { ($0.value.offset, $0.key) < ($1.value.offset, $1.key) }) {
            out += "#   %\(id) @ \(s.offset) + \(s.bytes)" + (s.inPlace.map { " (in place of %\($0))" } ?? "") + "\n"
        }
        for (id, list) in temporaries.sorted(by: { $0.key < $1.key }) {
            for s in list { out += "#   temporary of %\(id) @ \(s.offset) + \(s.bytes)\n" }
        }
        return out
    }
}
