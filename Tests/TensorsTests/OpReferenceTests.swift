import Testing
@testable import Tensors

/// Every op against NumPy (float64 reference rounded to float32).
@Suite struct OpReferenceTests {
    /// The Swift spelling of each fixture case.
    static let programs: [String: @Sendable ([Tensor]) -> Tensor] = [
        "add_broadcast_row": { $0[0] + $0[1] },
        "sub_broadcast_3d": { $0[0] - $0[1] },
        "mul_broadcast_3d": { $0[0] * $0[1] },
        "div": { $0[0] / $0[1] },
        "maximum": { Tensor.maximum($0[0], $0[1]) },
        "minimum": { Tensor.minimum($0[0], $0[1]) },
        "pow_tensor": { $0[0].pow($0[1]) },
        "add_scalar": { $0[0] + 1.5 },
        "rsub_scalar": { 2 - $0[0] },
        "mul_scalar": { $0[0] * -0.75 },
        "rdiv_scalar": { 3 / $0[0] },
        "pow_scalar": { $0[0].pow(2.5) },
        "neg": { -$0[0] },
        "exp": { $0[0].exp() },
        "abs": { $0[0].abs() },
        "tanh": { $0[0].tanh() },
        "erf": { $0[0].erf() },
        "relu": { $0[0].relu() },
        "sigmoid": { $0[0].sigmoid() },
        "gelu": { $0[0].gelu() },
        "gelu_tanh": { $0[0].gelu(approximate: true) },
        "sin": { $0[0].sin() },
        "cos": { $0[0].cos() },
        "log": { $0[0].log() },
        "sqrt": { $0[0].sqrt() },
        "rsqrt": { $0[0].rsqrt() },
        "softmax_last": { $0[0].softmax(dim: -1) },
        "softmax_dim1": { $0[0].softmax(dim: 1) },
        "log_softmax_last": { $0[0].logSoftmax(dim: -1) },
        "log_softmax_dim0": { $0[0].logSoftmax(dim: 0) },
        "sum_all": { $0[0].sum() },
        "sum_dim1": { $0[0].sum(dim: 1) },
        "sum_dims02_keep": { $0[0].sum(dims: [0, 2], keepDim: true) },
        "mean_dim_last": { $0[0].mean(dim: -1) },
        "max_dim0": { $0[0].max(dim: 0) },
        "min_dim2_keep": { $0[0].min(dim: 2, keepDim: true) },
        "argmax_dim1": { $0[0].argmax(dim: 1) },
        "argmin_dim2": { $0[0].argmin(dim: 2) },
        "var_dim1_unbiased": { $0[0].variance(dims: [1]) },
        "var_all_population": { $0[0].variance(correction: 0) },
        "greater": { $0[0] .> $0[1] },
        "less_equal_scalar": { $0[0] .<= 0.25 },
        "where_broadcast": { Tensor.where($0[0], $0[1], $0[2]) },
        "masked_fill": { $0[0].maskedFill($0[1], -1e4) },
        "matmul_dot": { $0[0].matmul($0[1]) },
        "matmul_mat_vec": { $0[0].matmul($0[1]) },
        "matmul_vec_mat": { $0[0].matmul($0[1]) },
        "matmul_2d": { $0[0].matmul($0[1]) },
        // The fixture stores bᵀ contiguously; a transposed view exercises BLAS's transpose flag.
        "matmul_2d_bt": { $0[0].matmul($0[1].transposed()) },
        "matmul_batched": { $0[0].matmul($0[1]) },
        "matmul_broadcast_batch": { $0[0].matmul($0[1]) },
        "matmul_stack_times_matrix": { $0[0].matmul($0[1]) },
        "layer_norm_affine": { $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-12) },
        "layer_norm_2d_plain": { $0[0].layerNorm(normalizedRank: 2) },
        "cross_entropy_ignore": { Tensor.crossEntropy($0[0], $0[1]) },
        "cross_entropy_sum": { Tensor.crossEntropy($0[0], $0[1], reduction: .sum) },
        "cross_entropy_spatial": { Tensor.crossEntropy($0[0], $0[1]) },
        "permute_reshape": { $0[0].permuted([2, 0, 1]).reshaped([4, 6]) },
        "transpose_contiguous": { $0[0].transposed(1, 2).contiguous() },
        "slice_step": { $0[0].sliced(dim: 1, start: 1, end: 3).sliced(dim: 2, step: 2) },
        "slice_negative": { $0[0].sliced(dim: 1, start: -2).sliced(dim: 2, start: 1, end: -1) },
        "expand": { $0[0].expanded(to: [2, 3, 4]) },
        "concat_dim1": { Tensor.concat([$0[0], $0[1]], dim: 1) },
        "stack_dim1": { Tensor.stack([$0[0], $0[0] * 2], dim: 1) },
        "index_select_embedding": { $0[0].indexSelect(dim: 0, index: $0[1]) },
        "index_select_dim1": { $0[0].indexSelect(dim: 1, index: $0[1]) },
        "gather_dim1": { $0[0].gather(dim: 1, index: $0[1]) },
        "arange": { _ in Tensor.arange(2, 11, step: 3) },
    ]

    @Test func everyFixtureCaseHasAProgram() {
        #expect(Set(OpFixtures.cases.keys) == Set(Self.programs.keys))
    }

    @Test(arguments: OpFixtures.cases.keys.sorted())
    func matchesNumPy(_ name: String) throws {
        let fixture = try #require(OpFixtures.cases[name])
        let program = try #require(Self.programs[name])
        let result = program(fixture.inputs.map(\.tensor))
        let expected = fixture.output.tensor
        #expect(result.dtype == expected.dtype || (expected.dtype == .int64 && result.dtype.isInteger), "\(name): dtype \(result.dtype)")
        expectClose(result, expected, atol: 2e-6, rtol: 2e-6, name)
    }
}
