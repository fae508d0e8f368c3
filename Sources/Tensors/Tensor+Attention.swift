extension Tensor {
    /// `softmax(q·kᵀ + mask)·v` as one op (`TensorOp.attention`): `[B, H, S, D]` queries (already
    /// scaled), `[B, H, T, D]` keys, `[B, H, T, Dv]` values and an optional additive f32 mask
    /// broadcastable to `[B, H, S, T]`; the result is `[B, H, S, Dv]`. The executor runs it in one pass
    /// per (batch, head); autograd, the tracer and the interpreter see one op. `NN`'s
    /// `scaledDotProductAttention` is the entry point models use.
    public static func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor? = nil) -> Tensor {
        Tensor.apply(.attention, [q, k, v] + (mask.map { [$0] } ?? []))
    }
}
