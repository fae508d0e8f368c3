import CLLVM
import Graph

/// Places intermediate values in the workspace by liveness as the kernel is emitted: a buffer goes
/// in the first gap among the live buffers that fits; a view keeps its source's buffer alive; a
/// kernel's temporaries die with its node.
final class WorkspaceAllocator {
    private let maxBindings: [String: Int]
    /// Workspace buffers in use: id → (offset, bytes).
    private var liveBuffers: [Int: (offset: Int, bytes: Int)] = [:]
    private var nextBuffer = 0
    /// The buffer each allocation's base pointer belongs to (views keep their source's base).
    private var bufferOfBase: [LLVMValueRef: Int] = [:]
    /// The live values reading each buffer (a value, or views of it).
    private var readers: [Int: Set<ValueID>] = [:]
    /// Buffers allocated while lowering the current node.
    private var allocatedInNode: [Int] = []
    /// The end of the highest buffer placed so far.
    private(set) var highWater = 0

    init(maxBindings: [String: Int]) { self.maxBindings = maxBindings }

    /// Reserves a buffer for a value of `type` at the dim bounds; returns its id and byte offset.
    func allocate(_ type: TensorType) -> (buffer: Int, bytes: Int) {
        let count = type.shape.reduce(1) { $0 * max(0, $1.evaluate(maxBindings) ?? 0) }
        let bytes = (count * type.dtype.byteSize + 63) & ~63
        var offset = 0
        for block in liveBuffers.values.sorted(by: { $0.offset < $1.offset }) {
            if offset + bytes <= block.offset { break }
            offset = max(offset, block.offset + block.bytes)
        }
        let id = nextBuffer
        nextBuffer += 1
        liveBuffers[id] = (offset, bytes)
        allocatedInNode.append(id)
        highWater = max(highWater, offset + bytes)
        return (id, offset)
    }

    /// Records that values based at `base` live in `buffer`.
    func bind(base: LLVMValueRef, to buffer: Int) { bufferOfBase[base] = buffer }

    /// After `node` is emitted: its temporaries are free; its result keeps (or, as a view, shares)
    /// a buffer while any reader is live; operands read for the last time release theirs. Emitted
    /// code runs in node order, so a freed buffer can hold the next node's values.
    func release(after node: Graph.Node, at index: Int, lastUse: [ValueID: Int], values: [ValueID: LoweredValue]) {
        let resultBuffer = values[node.id].flatMap { bufferOfBase[$0.base] }
        for id in allocatedInNode where id != resultBuffer { liveBuffers[id] = nil }
        allocatedInNode = []
        if let resultBuffer { readers[resultBuffer, default: []].insert(node.id) }
        var done = node.inputs.filter { lastUse[$0] == index }
        if lastUse[node.id] == nil { done.append(node.id) }
        for v in done {
            guard let buffer = values[v].flatMap({ bufferOfBase[$0.base] }) else { continue }
            readers[buffer]?.remove(v)
            if readers[buffer]?.isEmpty ?? true { liveBuffers[buffer] = nil }
        }
    }
}
