// Contiguous float32 kernels with runtime dispatch to AVX-512, AVX2 or the x86-64 baseline.
#include "CKernels.h"
#include <math.h>

/* Under ThreadSanitizer the ifunc resolvers that target_clones generates are instrumented too, and the
 * dynamic loader runs them before the TSan runtime exists (a crash at startup, found by
 * scripts/sanitize.sh): TSan builds get the baseline loops only. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TC_NO_CLONES 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TC_NO_CLONES 1
#endif
#ifdef TC_NO_CLONES
#define TC_DISPATCH
#else
#define TC_DISPATCH __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#define TC_LOOP(expr) for (size_t i = 0; i < n; i++) { float v = x[i]; y[i] = (expr); } break

TC_DISPATCH
void tc_unary_f32(int op, const float *restrict x, float *restrict y, size_t n) {
    switch (op) {
    case TC_NEG: TC_LOOP(-v);
    case TC_EXP: TC_LOOP(tc_exp(v));
    case TC_LOG: TC_LOOP(logf(v));
    case TC_SQRT: TC_LOOP(sqrtf(v));
    case TC_RSQRT: TC_LOOP(1.0f / sqrtf(v));
    case TC_ABS: TC_LOOP(fabsf(v));
    case TC_TANH: TC_LOOP(tc_tanh(v));
    case TC_ERF: TC_LOOP(tc_erf(v));
    case TC_RELU: TC_LOOP(v > 0 ? v : 0.0f);
    case TC_SIGMOID: TC_LOOP(tc_sigmoid(v));
    case TC_GELU: TC_LOOP(tc_gelu(v));
    case TC_GELU_TANH: TC_LOOP(tc_gelu_tanh(v));
    case TC_SIN: TC_LOOP(sinf(v));
    case TC_COS: TC_LOOP(cosf(v));
    }
}

#define TC_BINARY(expr) \
    if (sa == 1 && sb == 1) { for (size_t i = 0; i < n; i++) { float p = a[i], q = b[i]; y[i] = (expr); } } \
    else if (sa == 1) { float q = b[0]; for (size_t i = 0; i < n; i++) { float p = a[i]; y[i] = (expr); } } \
    else if (sb == 1) { float p = a[0]; for (size_t i = 0; i < n; i++) { float q = b[i]; y[i] = (expr); } } \
    else { float p = a[0], q = b[0]; for (size_t i = 0; i < n; i++) y[i] = (expr); } \
    break

TC_DISPATCH
void tc_binary_f32(int op, const float *restrict a, ptrdiff_t sa, const float *restrict b, ptrdiff_t sb,
                   float *restrict y, size_t n) {
    switch (op) {
    case TC_ADD: TC_BINARY(p + q);
    case TC_SUB: TC_BINARY(p - q);
    case TC_MUL: TC_BINARY(p * q);
    case TC_DIV: TC_BINARY(p / q);
    case TC_MAXIMUM: TC_BINARY((p != p || q != q) ? p + q : (p > q ? p : q));
    case TC_MINIMUM: TC_BINARY((p != p || q != q) ? p + q : (p < q ? p : q));
    }
}

#pragma clang fp reassociate(on)
TC_DISPATCH
float tc_sum_f32(const float *restrict x, size_t n) {
    float total = 0;
    for (size_t i = 0; i < n; i++) total += x[i];
    return total;
}

/* The largest element of x[0..n) (NaN if any is NaN), kept in 16 independent lanes so it
 * vectorizes: a select-based max reduction does not without -ffast-math. */
static inline __attribute__((always_inline)) float tc_row_max(const float *restrict x, size_t n) {
    float lanes[16];
    int nan[16];
    for (int j = 0; j < 16; j++) { lanes[j] = -__builtin_inff(); nan[j] = 0; }
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) { float v = x[i + j]; lanes[j] = v > lanes[j] ? v : lanes[j]; nan[j] |= v != v; }
    float m = -__builtin_inff();
    int any = 0;
    for (int j = 0; j < 16; j++) { m = lanes[j] > m ? lanes[j] : m; any |= nan[j]; }
    for (; i < n; i++) { float v = x[i]; m = v > m ? v : m; any |= v != v; }
    return any ? __builtin_nanf("") : m;
}

TC_DISPATCH
void tc_softmax_rows_f32(const float *restrict x, float *restrict y, size_t rows, size_t cols, int log) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = tc_row_max(xr, cols);     /* a NaN max makes the whole row NaN */
        if (m == -__builtin_inff()) m = 0;
        float sum = 0;
        if (log) {
            for (size_t i = 0; i < cols; i++) sum += tc_exp(xr[i] - m);
            float shift = m + logf(sum);
            for (size_t i = 0; i < cols; i++) yr[i] = xr[i] - shift;
        } else {
            for (size_t i = 0; i < cols; i++) { float e = tc_exp(xr[i] - m); yr[i] = e; sum += e; }
            float scale = 1.0f / sum;
            for (size_t i = 0; i < cols; i++) yr[i] *= scale;
        }
    }
}

TC_DISPATCH
void tc_layer_norm_rows_f32(const float *restrict x, const float *restrict weight, const float *restrict bias,
                            float *restrict y, size_t rows, size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float sum = 0;
        for (size_t i = 0; i < cols; i++) sum += xr[i];
        float mean = sum / (float)cols;
        float var = 0;
        for (size_t i = 0; i < cols; i++) { float d = xr[i] - mean; var += d * d; }
        float rstd = 1.0f / sqrtf(var / (float)cols + eps);
        if (weight && bias) for (size_t i = 0; i < cols; i++) yr[i] = (xr[i] - mean) * rstd * weight[i] + bias[i];
        else if (weight) for (size_t i = 0; i < cols; i++) yr[i] = (xr[i] - mean) * rstd * weight[i];
        else if (bias) for (size_t i = 0; i < cols; i++) yr[i] = (xr[i] - mean) * rstd + bias[i];
        else for (size_t i = 0; i < cols; i++) yr[i] = (xr[i] - mean) * rstd;
    }
}
