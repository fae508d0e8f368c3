import Graph
import Locks
import Tensors

/// GEMM panels packed once per source weight and format, and shared by every compiled graph of the
/// process that uses them while any of them lives.
///
/// Why: `CompiledGenerator` compiles a prefill and a decode graph from one model, and each packed its
/// own copy of every weight (TinyLlama's sizes: 12.5 GB resident against the AOT library's 4 GB). Both
/// graphs' weights are the checkpoint's tensors, or views of them (folded transposes stay views), so the
/// source storage, offset, shape and strides identify a weight across graphs. An entry holds the source
/// and the panels weakly: it is reused only while the source storage is the same object (never a
/// recycled address) and some compiled graph still holds the panels.
enum SharedPanels {
    private struct Key: Hashable {
        var storage: ObjectIdentifier
        var offset: Int
        var shape: [Int]
        var strides: [Int]
        var format: PanelLayout.Format
    }

    private struct Entry {
        weak var source: Storage?
        weak var panels: Tensor?
    }

    private static let entries = LockedValue<[Key: Entry]>([:])

    /// The panels of `matrix` in `format`: the ones packed earlier for the same source when they are
    /// still alive, else packed now (outside the lock: packing a large weight takes a while).
    static func panels(of matrix: Tensor, format: PanelLayout.Format) -> Tensor {
        let key = Key(storage: ObjectIdentifier(matrix.storage), offset: matrix.offset, shape: matrix.shape,
                      strides: matrix.strides, format: format)
        if let hit = entries.withLock({ entries -> Tensor? in
            guard let entry = entries[key], entry.source === matrix.storage else { return nil }
            return entry.panels
        }) {
            return hit
        }
        let packed = PanelLayout.pack(matrix, format: format)
        entries.withLock { entries in
            entries = entries.filter { $0.value.source != nil && $0.value.panels != nil }   // drop dead entries
            entries[key] = Entry(source: matrix.storage, panels: packed)
        }
        return packed
    }
}
