/* Memory bandwidth for the decode workload of Benchmarks/run-all.sh: THREADS threads each sum their part of
 * a 1 GiB float buffer (far larger than the caches), PASSES times; prints the best pass as JSON
 * {"read_gb_per_s": …}. Decode reads every weight once per token, so this is its ceiling.
 *
 *   cc -O3 -march=native -pthread stream_read.c -o stream_read && ./stream_read THREADS [PASSES]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "../include/bench_timing.h"

#define BYTES (1UL << 30)

static float *buffer;
static size_t count;
static int threads;
static volatile float sink;

static void *sum_part(void *arg) {
    size_t t = (size_t)arg, begin = count / threads * t, end = t + 1 == (size_t)threads ? count : count / threads * (t + 1);
    float acc[16] = {0};
    for (size_t i = begin; i + 16 <= end; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += buffer[i + k];
    float total = 0;
    for (int k = 0; k < 16; k++) total += acc[k];
    sink += total;
    return NULL;
}

int main(int argc, char **argv) {
    threads = argc > 1 ? atoi(argv[1]) : 2;
    int passes = argc > 2 ? atoi(argv[2]) : 5;
    if (threads < 1 || threads > 256 || passes < 1) { fprintf(stderr, "usage: stream_read THREADS [PASSES]\n"); return 2; }
    count = BYTES / sizeof(float);
    buffer = aligned_alloc(64, BYTES);
    if (!buffer) { fprintf(stderr, "stream_read: cannot allocate 1 GiB\n"); return 1; }
    for (size_t i = 0; i < count; i++) buffer[i] = (float)(i & 1023);
    pthread_t ids[256];
    double best = 0;
    for (int p = 0; p < passes; p++) {
        double start = now_ms() / 1e3;
        for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, sum_part, (void *)(size_t)t);
        for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
        double rate = BYTES / (now_ms() / 1e3 - start) / 1e9;
        if (rate > best) best = rate;
    }
    printf("{\"read_gb_per_s\": %.3f, \"threads\": %d, \"passes\": %d, \"bytes\": %lu}\n", best, threads, passes, BYTES);
    free(buffer);
    return 0;
}
