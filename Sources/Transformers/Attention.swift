import NN
import Tensors

// Attention pieces shared by BERT, RoBERTa and GPT-2. Everything here is trace-safe: masks come from
// `arange` and comparisons, never from Swift arrays sized by the sequence.

/// `[B, S, E]` → `[B, heads, S, E/heads]` (`transpose_for_scores`).
func splitHeads(_ x: Tensor, heads: Int) -> Tensor {
    x.unflattened(dim: -1, sizes: [heads, -1]).transposed(1, 2)
}

/// `[B, heads, S, D]` → `[B, S, heads·D]`.
func mergeHeads(_ x: Tensor) -> Tensor {
    x.transposed(1, 2).flattened(startDim: -2)
}

/// `softmax(q·kᵀ·scale + mask)·v`; `mask` is additive (0 where attending, a large negative number
/// elsewhere) and broadcasts to the scores `[B, heads, Sq, Sk]`. Scaling `q` rather than the scores
/// touches `Sq·D` elements instead of `Sq·Sk`.
///
/// For inference (no dropout, no gradients, no tracer) it runs as one pass per (batch, head)
/// (`Tensor.fusedAttention`), with identical values.
func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor, scale: Float, mask: Tensor?, dropout: Dropout) -> Tensor {
    let scaled = q * scale
    if !(dropout.training && dropout.p > 0), let fused = Tensor.fusedAttention(scaled, k, v, mask: mask) { return fused }
    var scores = scaled.matmul(k.transposed(-1, -2))
    if let mask { scores = scores + mask }
    return dropout(scores.softmax(dim: -1)).matmul(v)
}

/// The value masked scores get: `torch.finfo(float32).min`, as Hugging Face uses.
let maskedScore = -Float.greatestFiniteMagnitude

/// An additive mask `[B, 1, 1, Sk]` from a `[B, Sk]` padding mask (nonzero = attend) (`get_extended_attention_mask`).
func paddingMask(_ attentionMask: Tensor) -> Tensor {
    let keep = (attentionMask .!= 0).unsqueezed(at: 1).unsqueezed(at: 1)
    return Tensor.where(keep, Tensor(0), Tensor(maskedScore))
}

/// `[Sq, Sk]` bool mask, true where query `i` (at absolute position `Sk − Sq + i`) may see key `j`.
/// Built from two ranges so that a traced decode step keeps the cache length symbolic.
func causalKeep(queryLength: Int, keyLength: Int) -> Tensor {
    let rows = Tensor.arange(keyLength - queryLength, keyLength).unsqueezed(at: 1)
    let columns = Tensor.arange(0, keyLength).unsqueezed(at: 0)
    return columns .<= rows
}

/// The additive mask of a decoder: causal, and also padding when `attentionMask` `[B, Sk]` is given.
/// Shape `[Sq, Sk]` or `[B, 1, Sq, Sk]`.
func causalMask(queryLength: Int, keyLength: Int, attentionMask: Tensor?) -> Tensor {
    var keep = causalKeep(queryLength: queryLength, keyLength: keyLength)
    if let attentionMask { keep = keep .& (attentionMask .!= 0).unsqueezed(at: 1).unsqueezed(at: 1) }
    return Tensor.where(keep, Tensor(0), Tensor(maskedScore))
}

/// Inclusive cumulative sum of a `[B, S]` tensor along its last dim, as float32: a product with an
/// upper-triangular matrix of ones, which traces (there is no cumsum primitive).
func cumulativeSum(_ x: Tensor) -> Tensor {
    let n = x.size(-1)
    let upper = (Tensor.arange(0, n).unsqueezed(at: 1) .<= Tensor.arange(0, n).unsqueezed(at: 0)).cast(to: .float32)
    return x.cast(to: .float32).matmul(upper)
}

/// An activation layer by its config name; configs are validated before models are built.
func configActivation(_ name: String) -> any UnaryLayer {
    guard let layer = activation(named: name) else { preconditionFailure("activation '\(name)' passed config validation but NN lacks it") }
    return layer
}
