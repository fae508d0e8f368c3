/* What an app gets from `tcompile`: this program links a BERT-family model compiled to libNAME.a and times
 * NAME_run in a loop (the create call, the weights mmap and one workspace are set up once, as an app would).
 * Built by run-all.sh for each AOT model:
 *
 *   cc -O2 -DM=minilm -DMU=MINILM -DMODEL_HEADER='"minilm.h"' harness.c -I lib -L lib -lminilm -lopenblas -lm -lpthread -o minilm-harness
 *
 *   minilm-harness WEIGHTS BATCH SEQ REPS     times REPS calls after one warm-up; prints one JSON object
 *   minilm-harness WEIGHTS --ids ID...        one sentence (ids from `tcompile tokenize`): the cold-start app
 *
 * Threads: BENCH_THREADS (NAME_set_threads), else the library's default of one per core.
 *
 * Ids are the benchmark's deterministic sequence (1000 + 7919·i mod 29000), mask ones, token types zeros. The
 * header says how many inputs the model takes (NAME_NUM_INPUTS) and names them in comments; bench_all.py reads
 * those names and passes their order as -DINPUT_KINDS='{0, 1}' (0 input_ids, 1 attention_mask, 2 token_type_ids;
 * DistilBERT and XLM-R take no token types). Without it, inputs[i] is kind i. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include MODEL_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(suffix) CAT(M, suffix)

#include "../include/bench_timing.h"

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s WEIGHTS BATCH SEQ REPS | WEIGHTS --ids ID...\n", argv[0]); return 2; }
    int one_sentence = strcmp(argv[2], "--ids") == 0;
    int64_t batch = one_sentence ? 1 : atoll(argv[2]);
    int64_t seq = one_sentence ? argc - 3 : atoll(argv[3]);
    int reps = one_sentence ? 0 : atoi(argv[4]);
    int64_t n = batch * seq;
    int64_t *ids = malloc(sizeof(int64_t) * n), *mask = malloc(sizeof(int64_t) * n), *types = calloc(n, sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) {
        ids[i] = one_sentence ? atoll(argv[3 + i]) : 1000 + (7919 * i) % 29000;
        mask[i] = 1;
    }
    double start = now_ms();
    F(_model) *model;
    int status = F(_create)(argv[1], &model);
    if (status) { fprintf(stderr, "create: %s\n", F(_error_message)(status)); return 1; }
    /* The model's own thread pool: BENCH_THREADS (run-all.sh sets it), else one per core. */
    const char *threads = getenv("BENCH_THREADS");
    F(_set_threads)(model, threads ? atoi(threads) : 0);
    void *workspace = aligned_alloc(64, (F(_workspace_size)() + 63) / 64 * 64);
    int64_t dims[8] = {batch, seq};   /* batch, seq: the order of the generated header */
#ifdef INPUT_KINDS
    static const int kinds[] = INPUT_KINDS;
    _Static_assert(sizeof kinds / sizeof kinds[0] == CAT(MU, _NUM_INPUTS), "INPUT_KINDS must name every input of the header");
#else
    _Static_assert(CAT(MU, _NUM_INPUTS) <= 3, "more than input_ids, attention_mask, token_type_ids: pass -DINPUT_KINDS");
    static const int kinds[] = {0, 1, 2};
#endif
    const void *by_kind[3] = {ids, mask, types};
    const void *inputs[CAT(MU, _NUM_INPUTS)];
    for (int i = 0; i < CAT(MU, _NUM_INPUTS); i++) inputs[i] = by_kind[kinds[i]];
    void *outputs[8];
    int64_t elements[8];
    for (int o = 0; o < CAT(MU, _NUM_OUTPUTS); o++) {
        elements[o] = F(_output_elements)(o, dims);
        outputs[o] = malloc(sizeof(float) * elements[o]);
    }
    double create_ms = now_ms() - start;
    status = F(_run)(model, dims, inputs, outputs, workspace);
    if (status) { fprintf(stderr, "run: %s\n", F(_error_message)(status)); return 1; }
    double first_ms = now_ms() - start;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    double mean_abs = 0;
    const float *hidden = outputs[0];
    for (int64_t i = 0; i < elements[0]; i++) mean_abs += fabs(hidden[i]);
    mean_abs /= (double)elements[0];
    if (one_sentence) {
        /* Mean-pooled sentence embedding (the sentence-transformers pooling), first values. */
        int64_t hiddenSize = elements[0] / seq;
        printf("embedding[0..3] =");
        for (int64_t j = 0; j < 4; j++) {
            double s = 0;
            for (int64_t t = 0; t < seq; t++) s += hidden[t * hiddenSize + j];
            printf(" %.4f", s / seq);
        }
        printf("  (create %.1f ms, first result %.1f ms after create began)\n", create_ms, first_ms);
        return 0;
    }
    F(_run)(model, dims, inputs, outputs, workspace);
    double *samples = malloc(sizeof(double) * (reps > 0 ? reps : 1));
    for (int r = 0; r < reps; r++) {
        double t = now_ms();
        status = F(_run)(model, dims, inputs, outputs, workspace);
        samples[r] = now_ms() - t;
        if (status) { fprintf(stderr, "run: %s\n", F(_error_message)(status)); return 1; }
    }
    qsort(samples, reps, sizeof(double), compare);
    printf("{\"impl\": \"ours-aot\", \"batch\": %lld, \"seq\": %lld, \"reps\": %d, \"median_ms\": %.6f, \"min_ms\": %.6f, "
           "\"max_ms\": %.6f, \"create_ms\": %.3f, \"first_result_unix\": %.6f, \"check_mean_abs\": %.9g}\n",
           (long long)batch, (long long)seq, reps, samples[reps / 2], samples[0], samples[reps - 1], create_ms,
           wall.tv_sec + wall.tv_nsec / 1e9, mean_abs);
    F(_destroy)(model);
    return 0;
}
