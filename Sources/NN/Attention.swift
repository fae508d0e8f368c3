import Tensors

/// Multi-head scaled dot-product attention with query/key/value/output projections — the block BERT,
/// RoBERTa and GPT-2 are built from (`nn.MultiheadAttention` with `batch_first`).
///
/// Shapes stay symbolic: heads are split with `unflattened(dim:sizes:)` and merged with `flattened`,
/// so the code never reads the batch or sequence length into a Swift `Int` except to build the causal
/// mask (see `causalMask(queryLength:keyLength:)`), and traces with dynamic dims.
///
/// ```swift
/// let attention = MultiHeadAttention(dimensions: 64, heads: 4)
/// let y = attention(x, mask: attentionMask)          // x [B, S, 64], mask [B, S] (true = attend)
/// ```
public final class MultiHeadAttention: Module {
    /// The query projection, key `query`.
    @ModuleInfo(key: "query") public var queryProjection: Linear
    /// The key projection, key `key`.
    @ModuleInfo(key: "key") public var keyProjection: Linear
    /// The value projection, key `value`.
    @ModuleInfo(key: "value") public var valueProjection: Linear
    /// The output projection, key `out_proj`.
    @ModuleInfo(key: "out_proj") public var outputProjection: Linear
    /// Dropout on the attention probabilities.
    public let attentionDropout: Dropout
    /// Number of heads.
    public let heads: Int

    /// Attention over `dimensions`-wide vectors split into `heads` heads; `dropout` applies to the
    /// attention probabilities in training mode.
    public init(dimensions: Int, heads: Int, dropout: Float = 0, bias: Bool = true) {
        precondition(dimensions % heads == 0, "MultiHeadAttention: \(dimensions) dimensions do not split into \(heads) heads")
        self.heads = heads
        _queryProjection.wrappedValue = Linear(dimensions, dimensions, bias: bias)
        _keyProjection.wrappedValue = Linear(dimensions, dimensions, bias: bias)
        _valueProjection.wrappedValue = Linear(dimensions, dimensions, bias: bias)
        _outputProjection.wrappedValue = Linear(dimensions, dimensions, bias: bias)
        attentionDropout = Dropout(dropout)
    }

    /// Attends from `query` `[B, Sq, E]` to `key`/`value` `[B, Sk, E]` (self-attention when nil).
    ///
    /// `mask` is a padding mask: bool (true = attend) or additive float (0 or a large negative), of
    /// shape `[B, Sk]` or anything broadcastable to the scores `[B, heads, Sq, Sk]`. `causal` hides
    /// later keys from each query. Returns `[B, Sq, E]`.
    public func callAsFunction(_ query: Tensor, key: Tensor? = nil, value: Tensor? = nil,
                               mask: Tensor? = nil, causal: Bool = false) -> Tensor {
        let q = splitHeads(queryProjection(query))
        let k = splitHeads(keyProjection(key ?? query))
        let v = splitHeads(valueProjection(value ?? key ?? query))
        // [B, Sk] padding masks broadcast over heads and queries.
        let scoresMask = mask.map { $0.rank == 2 ? $0.unsqueezed(at: 1).unsqueezed(at: 1) : $0 }
        let context = scaledDotProductAttention(q, k, v, mask: scoresMask, causal: causal, dropout: attentionDropout)
        return outputProjection(mergeHeads(context))
    }

    /// `[B, S, E]` → `[B, heads, S, E/heads]`.
    public func splitHeads(_ x: Tensor) -> Tensor {
        x.unflattened(dim: -1, sizes: [heads, -1]).transposed(1, 2)
    }

    /// `[B, heads, S, D]` → `[B, S, heads·D]`.
    public func mergeHeads(_ x: Tensor) -> Tensor {
        x.transposed(1, 2).flattened(startDim: -2)
    }
}

/// `softmax(q·kᵀ·scale + mask)·v` (`F.scaled_dot_product_attention`): the one attention of every
/// model. `q` `[..., S, d]`, `k` `[..., T, d]`, `v` `[..., T, dv]`; `scale` defaults to `1/√d`.
/// `mask` broadcasts to the scores `[..., S, T]`, in any of the spellings `AttentionMask.additive(from:)`
/// reads (bool or integer: nonzero attends; float: additive); `causal` hides later keys. Dropout, when training, applies to the probabilities.
///
/// In inference this is one `attention` op (scaling `q`, which touches `S·d` elements instead of
/// `S·T`): eager code runs it as one kernel per (batch, head), the tracer records one node, and the
/// optimizer fuses the head split and merge around it.
public func scaledDotProductAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor? = nil, causal: Bool = false,
                                      scale: Float? = nil, dropout: Dropout? = nil) -> Tensor {
    let scaled = q * (scale ?? 1 / Float(q.size(-1)).squareRoot())
    var additive = mask.map(AttentionMask.additive(from:))
    if causal {
        let keep = AttentionMask.causalKeep(queryLength: q.size(-2), keyLength: k.size(-2))
        additive = additive.map { Tensor.where(keep, $0, Tensor(AttentionMask.maskedScore)) } ?? AttentionMask.additive(keep)
    }
    if let dropout, dropout.training, dropout.p > 0 || q.rank != 4 {
        var scores = scaled.matmul(k.transposed(-1, -2))
        if let additive { scores = scores + additive }
        return dropout(scores.softmax(dim: -1)).matmul(v)
    }
    guard q.rank == 4, k.rank == 4, v.rank == 4 else {
        var scores = scaled.matmul(k.transposed(-1, -2))
        if let additive { scores = scores + additive }
        return scores.softmax(dim: -1).matmul(v)
    }
    return Tensor.attention(scaled, k, v, mask: additive)
}

/// The one recipe for attention masks: keep masks (bool, true where a query may attend) and their
/// additive form (0 where attending, the most negative float elsewhere, as Hugging Face uses). All
/// built from comparisons and ranges, never from Swift arrays sized by the sequence, so they trace.
public enum AttentionMask {
    /// The score masked positions get: `torch.finfo(float32).min`.
    public static let maskedScore = -Float.greatestFiniteMagnitude

    /// `[Sq, Sk]` bool, true where query `i` (at absolute position `Sk − Sq + i`, so queries that
    /// follow a cache of earlier keys see all of them) may see key `j`. Two ranges, so a traced decode
    /// step keeps the cache length symbolic.
    public static func causalKeep(queryLength: Int, keyLength: Int) -> Tensor {
        let rows = Tensor.arange(keyLength - queryLength, keyLength).unsqueezed(at: 1)
        let columns = Tensor.arange(0, keyLength).unsqueezed(at: 0)
        return columns .<= rows
    }

    /// `keep ? 0 : maskedScore`.
    public static func additive(_ keep: Tensor) -> Tensor {
        Tensor.where(keep, Tensor(0), Tensor(maskedScore))
    }

    /// `[B, Sk]` padding mask (nonzero or true = a real token) → additive `[B, 1, 1, Sk]`
    /// (`get_extended_attention_mask`).
    public static func padding(_ attentionMask: Tensor) -> Tensor {
        additive(keep(attentionMask).unsqueezed(at: 1).unsqueezed(at: 1))
    }

    /// The additive mask of a decoder: causal, and padding too when `padding` `[B, Sk]` is given.
    /// Shape `[Sq, Sk]` or `[B, 1, Sq, Sk]`.
    public static func causal(queryLength: Int, keyLength: Int, padding: Tensor?) -> Tensor {
        var keep = causalKeep(queryLength: queryLength, keyLength: keyLength)
        if let padding { keep = keep .& self.keep(padding).unsqueezed(at: 1).unsqueezed(at: 1) }
        return additive(keep)
    }

    /// Any mask spelling as an additive mask of the same shape: bool and integer masks keep where true
    /// or nonzero, float masks are additive already.
    public static func additive(from mask: Tensor) -> Tensor {
        mask.dtype == .float32 ? mask : additive(keep(mask))
    }

    private static func keep(_ mask: Tensor) -> Tensor { mask.dtype == .bool ? mask : mask .!= 0 }
}

/// `[Sq, Sk]` bool mask, true where query `i` may see key `j ≤ i + (Sk − Sq)` (`AttentionMask.causalKeep`).
public func causalMask(queryLength: Int, keyLength: Int) -> Tensor {
    AttentionMask.causalKeep(queryLength: queryLength, keyLength: keyLength)
}
