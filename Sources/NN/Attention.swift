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
        let context = scaledDotProductAttention(q, k, v, mask: mask, causal: causal,
                                                dropout: attentionDropout)
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

/// `softmax(q·kᵀ/√d + mask)·v` over `[..., S, d]` tensors, with a padding mask (bool: true = attend, or
/// additive float; `[B, Sk]` or broadcastable to the scores), an optional causal mask, and dropout on
/// the probabilities (`F.scaled_dot_product_attention`).
public func scaledDotProductAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor? = nil,
                                      causal: Bool = false, dropout: Dropout? = nil) -> Tensor {
    let headDimensions = q.size(-1)
    var scores = q.matmul(k.transposed(-1, -2)) * (1 / Float(headDimensions).squareRoot())
    if let mask {
        // [B, Sk] padding masks broadcast over heads and queries.
        let m = mask.rank == 2 ? mask.unsqueezed(at: 1).unsqueezed(at: 1) : mask
        scores = m.dtype == .bool ? scores.maskedFill(.!m, -Float.greatestFiniteMagnitude) : scores + m
    }
    if causal {
        scores = scores.maskedFill(.!causalMask(queryLength: scores.size(-2), keyLength: scores.size(-1)),
                                   -Float.greatestFiniteMagnitude)
    }
    var probabilities = scores.softmax(dim: -1)
    if let dropout { probabilities = dropout(probabilities) }
    return probabilities.matmul(v)
}

/// `[Sq, Sk]` bool mask, true where query `i` may see key `j`: `j ≤ i + (Sk − Sq)` (the offset lets
/// queries that follow a cache of earlier keys see all of them). The one place attention reads
/// sequence lengths as integers; a tracer records it as a mask over symbolic dims.
public func causalMask(queryLength: Int, keyLength: Int) -> Tensor {
    let rows = Tensor.arange(0, queryLength).unsqueezed(at: 1) + Tensor([keyLength - queryLength], shape: [])
    let columns = Tensor.arange(0, keyLength).unsqueezed(at: 0)
    return columns .<= rows
}
