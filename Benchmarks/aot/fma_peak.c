/* The machine's single-precision FMA peak, for Benchmarks/run-all.sh: each thread runs fused multiply-adds on
 * 24 independent vector accumulators that never leave the registers (no loads, no stores in the loop), as wide
 * as the compiler's -march=native allows (AVX-512: 16 floats per instruction). Prints one JSON line:
 * {"fma_peak_gflops": total over the threads, "per_thread_gflops": …, "threads": T, "lanes": 16 or 8 …}, the best of
 * PASSES passes of about 0.2 s each.
 *
 *   cc -O2 -march=native -ffp-contract=fast fma_peak.c -lpthread -o fma_peak && ./fma_peak THREADS [PASSES]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../include/bench_timing.h"

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
typedef float vec __attribute__((vector_size(LANES * 4)));
#define ACCUMULATORS 24
#define ITERATIONS 2000000L

static volatile float sink;

static void *run(void *unused) {
    (void)unused;
    vec acc[ACCUMULATORS];
    vec x, y;
    for (int i = 0; i < LANES; i++) { x[i] = 0.999999f; y[i] = 1e-7f; }
    for (int a = 0; a < ACCUMULATORS; a++) acc[a] = x * (float)(a + 1);
    for (long n = 0; n < ITERATIONS; n++) {
#pragma GCC unroll 24
        for (int a = 0; a < ACCUMULATORS; a++) acc[a] = acc[a] * x + y;
        __asm__ volatile("" : "+v"(x));   /* x might change: the loop cannot be folded */
    }
    float total = 0;
    for (int a = 0; a < ACCUMULATORS; a++)
        for (int i = 0; i < LANES; i++) total += acc[a][i];
    sink = total;
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int passes = argc > 2 ? atoi(argv[2]) : 3;
    if (threads < 1 || threads > 256 || passes < 1) { fprintf(stderr, "usage: fma_peak THREADS [PASSES]\n"); return 2; }
    pthread_t ids[256];
    double best = 0;
    for (int p = 0; p < passes; p++) {
        double start = now_ms() / 1e3;
        for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, run, NULL);
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
        double seconds = now_ms() / 1e3 - start;
        double flops = 2.0 * LANES * ACCUMULATORS * (double)ITERATIONS * threads;
        if (flops / seconds / 1e9 > best) best = flops / seconds / 1e9;
    }
    printf("{\"fma_peak_gflops\": %.1f, \"per_thread_gflops\": %.1f, \"threads\": %d, \"lanes\": %d, \"accumulators\": %d}\n",
           best, best / threads, threads, LANES, ACCUMULATORS);
    return 0;
}
