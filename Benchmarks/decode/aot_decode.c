/* The decode workload for ours through the AOT generating library (`tcompile CHECKPOINT --generate
 * --name bench`): the library's own KV cache and greedy loop, called from C as an app would.
 *
 *   cc -O2 -std=c11 aot_decode.c -I LIB -L LIB -lbench -lm -o aot_decode
 *   aot_decode LIB/bench.weights --prompt 128 --tokens 128 --reps 1 --threads 2
 *
 * Prints one JSON line with the fields of DecodeBench: prefill_ms is the median time of generating one
 * token (the prompt's forward pass and its argmax); decode_tokens_per_s is (tokens − 1) / (median time of
 * all tokens − prefill_ms). The prompt is the peers' (decode_peer.py ids_for). */
#define _POSIX_C_SOURCE 199309L
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../include/bench_timing.h"

/* Generates `count` tokens greedily after the prompt; returns the time in ms, or -1 (message on stderr). */
static double generate(bench_gen *gen, const int64_t *prompt, int64_t length, int64_t count, int64_t *tokens) {
    double start = now_ms();
    int status = bench_gen_prompt(gen, prompt, length);
    for (int64_t i = 0; status == BENCH_OK && i < count; i++) status = bench_gen_step(gen, &tokens[i]);
    if (status != BENCH_OK) { fprintf(stderr, "aot_decode: %s\n", bench_gen_last_error(gen)); return -1; }
    return now_ms() - start;
}

int main(int argc, char **argv) {
    long long prompt_length = 128, tokens = 128, reps = 1, threads = 2;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--prompt") == 0) prompt_length = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--tokens") == 0) tokens = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0) reps = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0) threads = atoll(argv[i + 1]);
    }
    if (argc < 2 || prompt_length < 1 || tokens < 2 || reps < 1 || reps > 64 || threads < 1
        || prompt_length + tokens > BENCH_GEN_MAX_LENGTH) {
        fprintf(stderr, "usage: %s WEIGHTS [--prompt N] [--tokens N] [--reps N] [--threads N] (prompt + tokens <= %d)\n",
                argv[0], BENCH_GEN_MAX_LENGTH);
        return 2;
    }
    double load_start = now_ms();
    bench_model *model;
    int status = bench_create(argv[1], &model);
    if (status != BENCH_OK) { fprintf(stderr, "aot_decode: %s\n", bench_error_message(status)); return 1; }
    bench_set_threads(model, threads);
    bench_gen *gen;
    status = bench_gen_create(model, 0, &gen);
    if (status == BENCH_OK) status = bench_gen_set_stop_tokens(gen, NULL, 0);   /* no EOS: every run makes `tokens` */
    if (status != BENCH_OK) { fprintf(stderr, "aot_decode: %s\n", bench_error_message(status)); return 1; }
    double load_ms = now_ms() - load_start;
    int64_t vocabulary = BENCH_GEN_VOCAB_SIZE < 30000 ? BENCH_GEN_VOCAB_SIZE : 30000;
    int64_t *prompt = malloc(sizeof(int64_t) * prompt_length), *out = malloc(sizeof(int64_t) * tokens);
    if (!prompt || !out) return 1;
    for (long long i = 0; i < prompt_length; i++) prompt[i] = (1000 + 7919 * i) % vocabulary;
    int64_t check[8];
    int64_t warm = tokens < 8 ? tokens : 8;
    if (generate(gen, prompt, prompt_length, warm, check) < 0) return 1;   /* warm-up, and the tokens compared */
    double prefill[64], total[64];
    for (long long r = 0; r < reps; r++) {
        if ((prefill[r] = generate(gen, prompt, prompt_length, 1, out)) < 0) return 1;
        if ((total[r] = generate(gen, prompt, prompt_length, tokens, out)) < 0) return 1;
    }
    qsort(prefill, reps, sizeof(double), compare);
    qsort(total, reps, sizeof(double), compare);
    double p = prefill[reps / 2], t = total[reps / 2];
    printf("{\"impl\": \"aot\", \"threads\": %lld, \"reps\": %lld, \"tokens\": %lld, \"prompt\": %lld, \"load_ms\": %.3f, "
           "\"prefill_ms\": %.3f, \"total_ms\": %.3f, \"decode_tokens_per_s\": %.4f, \"generated\": %lld, \"check_tokens\": [",
           threads, reps, tokens, prompt_length, load_ms, p, t, (tokens - 1) / ((t - p) / 1e3), (long long)warm);
    for (int64_t i = 0; i < warm; i++) printf("%s%lld", i ? ", " : "", (long long)check[i]);
    printf("]}\n");
    bench_gen_destroy(gen);
    bench_destroy(model);
    free(prompt);
    free(out);
    return 0;
}
