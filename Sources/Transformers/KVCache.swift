import Tensors

/// Keys and values of earlier positions, per layer, so that decoding one token attends to the
/// whole sequence without recomputing it (`transformers.Cache`).
///
/// A model reads `offset` once before its layers run, then each attention layer calls `update`
/// with the new positions' keys and values and attends to what it returns.
public protocol KVCache: AnyObject {
    /// Positions already cached (the past length).
    var offset: Int { get }
    /// Appends `keys`/`values` `[B, heads, S, D]` for `layer`; returns the layer's full keys and values.
    func update(layer: Int, keys: Tensor, values: Tensor) -> (keys: Tensor, values: Tensor)
}

/// A cache that concatenates along the sequence on every update (`DynamicCache`). Its tensors can
/// be built from and read back as plain tensors, which is how a traced decode step takes the cache
/// as graph inputs and returns the updated one as outputs.
///
/// ```swift
/// let cache = DynamicKVCache(layers: config.nLayer)
/// var out = model.forward(promptIds, cache: cache)      // prefill
/// out = model.forward(nextIds, cache: cache)            // one step, attending to the prompt
/// ```
public final class DynamicKVCache: KVCache {
    /// Cached keys per layer, `[B, heads, offset, D]`; nil before the first update.
    public private(set) var keys: [Tensor?]
    /// Cached values per layer.
    public private(set) var values: [Tensor?]

    /// An empty cache for `layers` layers.
    public init(layers: Int) {
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
    }

    /// A cache holding `keys` and `values` (one of each per layer, all with the same past length).
    public init(keys: [Tensor], values: [Tensor]) {
        precondition(keys.count == values.count, "DynamicKVCache: \(keys.count) key tensors for \(values.count) value tensors")
        self.keys = keys
        self.values = values
    }

    public var offset: Int { keys.first.flatMap { $0?.size(2) } ?? 0 }

    public func update(layer: Int, keys newKeys: Tensor, values newValues: Tensor) -> (keys: Tensor, values: Tensor) {
        let k = keys[layer].map { Tensor.concat([$0, newKeys], dim: 2) } ?? newKeys
        let v = values[layer].map { Tensor.concat([$0, newValues], dim: 2) } ?? newValues
        keys[layer] = k
        values[layer] = v
        return (k, v)
    }

    /// Keeps only the batch rows `rows` (e.g. after some sequences finished).
    public func selectBatch(_ rows: Tensor) {
        keys = keys.map { $0?.indexSelect(dim: 0, index: rows) }
        values = values.map { $0?.indexSelect(dim: 0, index: rows) }
    }
}
