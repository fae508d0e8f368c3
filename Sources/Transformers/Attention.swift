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

/// `softmax(q·kᵀ·scale + mask)·v` with HF's additive masks (`AttentionMask`): NN's
/// `scaledDotProductAttention`, the one attention, here with the dropout module of the layer.
func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor, scale: Float, mask: Tensor?, dropout: Dropout) -> Tensor {
    scaledDotProductAttention(q, k, v, mask: mask, scale: scale, dropout: dropout)
}

/// An additive mask `[B, 1, 1, Sk]` from a `[B, Sk]` padding mask (nonzero = attend) (`get_extended_attention_mask`).
func paddingMask(_ attentionMask: Tensor) -> Tensor { AttentionMask.padding(attentionMask) }

/// The additive mask of a decoder: causal, and also padding when `attentionMask` `[B, Sk]` is given.
func causalMask(queryLength: Int, keyLength: Int, attentionMask: Tensor?) -> Tensor {
    AttentionMask.causal(queryLength: queryLength, keyLength: keyLength, padding: attentionMask)
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
