// Contiguous float32 kernels for the eager tensor library, compiled for the x86-64 baseline, AVX2 and
// AVX-512 with runtime dispatch (target_clones), the way NumPy dispatches its loops. The scalar math
// below (exp, tanh, erf, …) is the single definition used by these loops and by Swift's strided paths.
#ifndef TCOMPILE_CKERNELS_H
#define TCOMPILE_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Unary ops, in the order of `tc_unary_f32`'s switch.
enum tc_unary_op {
    TC_NEG, TC_EXP, TC_LOG, TC_SQRT, TC_RSQRT, TC_ABS, TC_TANH, TC_ERF, TC_RELU, TC_SIGMOID,
    TC_GELU, TC_GELU_TANH, TC_SIN, TC_COS
};

/// Binary ops for `tc_binary_f32`.
enum tc_binary_op { TC_ADD, TC_SUB, TC_MUL, TC_DIV, TC_MAXIMUM, TC_MINIMUM };

static inline float tc_bits_to_float(int32_t bits) { union { int32_t i; float f; } u = { .i = bits }; return u.f; }

/// e^x with about 1 ulp error (Cephes expf): 0 below -87.34, +inf above 88.72, NaN kept.
static inline float tc_exp(float x) {
    float xc = x != x ? 0.0f : (x < -87.33654f ? -87.33654f : (x > 88.72283f ? 88.72283f : x));
    float t = xc * 1.44269504f;
    float n = (t + 12582912.0f) - 12582912.0f;               /* round to nearest, |t| < 2^22 */
    float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    int32_t ni = (int32_t)n;
    int32_t nc = ni > 127 ? 127 : ni;
    float result = y * tc_bits_to_float((nc + 127) << 23) * (ni > 127 ? 2.0f : 1.0f);
    result = x < -87.33654f ? 0.0f : result;
    result = x > 88.72283f ? __builtin_inff() : result;
    return x != x ? x : result;
}

/// tanh(x) as a rational function of degree 13/6 on [-7.9, 7.9] (±1 outside; x itself near 0),
/// within a few ulp of libm.
static inline float tc_tanh(float v) {
    float x = v < -7.90531110763549805f ? -7.90531110763549805f : (v > 7.90531110763549805f ? 7.90531110763549805f : v);
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * x;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    float r = p / q;
    float a = v < 0 ? -v : v;
    return a < 0.0004f ? v : r;
}

/// erf(x) as a rational function on [-4, 4] (±1 outside), a few ulp from libm.
static inline float tc_erf(float v) {
    float x = v < -4.0f ? -4.0f : (v > 4.0f ? 4.0f : v);
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 - 2.10102402082508e-06f;
    p = p * x2 - 5.69250639462346e-05f;
    p = p * x2 - 7.34990630326855e-04f;
    p = p * x2 - 2.95459980854025e-03f;
    p = p * x2 - 1.60960333262415e-02f;
    p = p * x;
    float q = -1.45660718464996e-05f;
    q = q * x2 - 2.13374055278905e-04f;
    q = q * x2 - 1.68282697438203e-03f;
    q = q * x2 - 7.37332916720468e-03f;
    q = q * x2 - 1.42647390514189e-02f;
    return v != v ? v : p / q;
}

/// GELU, exact form: x · ½(1 + erf(x/√2)).
static inline float tc_gelu(float x) { return 0.5f * x * (1.0f + tc_erf(x * 0.70710678118654752f)); }
/// GELU, tanh approximation.
static inline float tc_gelu_tanh(float x) {
    return 0.5f * x * (1.0f + tc_tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}
/// 1 / (1 + e^{-x}).
static inline float tc_sigmoid(float x) { return 1.0f / (1.0f + tc_exp(-x)); }

/// y[i] = op(x[i]) for i < n.
void tc_unary_f32(int op, const float *x, float *y, size_t n);
/// y[i] = a[i·sa] op b[i·sb] for i < n; each stride is 0 (broadcast scalar) or 1.
void tc_binary_f32(int op, const float *a, ptrdiff_t sa, const float *b, ptrdiff_t sb, float *y, size_t n);
/// Softmax (or log-softmax) of each contiguous row.
void tc_softmax_rows_f32(const float *x, float *y, size_t rows, size_t cols, int log);
/// Layer normalization of each contiguous row, with optional weight and bias (NULL to skip).
void tc_layer_norm_rows_f32(const float *x, const float *weight, const float *bias, float *y,
                            size_t rows, size_t cols, float eps);
/// Sum of n floats, vectorized.
float tc_sum_f32(const float *x, size_t n);
#endif
