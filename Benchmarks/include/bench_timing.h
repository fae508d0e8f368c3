/* The clock and the sort order the C benchmark programs (aot/harness.c, aot/fma_peak.c, decode/aot_decode.c,
 * decode/stream_read.c) share.
 * Include after defining _POSIX_C_SOURCE (clock_gettime). */
#ifndef TCOMPILE_BENCH_TIMING_H
#define TCOMPILE_BENCH_TIMING_H
#include <time.h>

/* Monotonic milliseconds. */
static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* qsort's order of doubles, ascending (for medians). */
static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
#endif
