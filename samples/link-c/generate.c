/* Generates token ids with a compiled causal language model: the library's own KV cache, sampling and
 * stop tokens (the gpt2gen_gen_* functions of gpt2gen.h), each token printed as it comes.
 *
 *   cc -std=c11 generate.c -I lib -L lib -lgpt2gen -lm -o generate
 *   ./generate lib/gpt2gen.weights [--max-new N] [--temperature T] [--top-k K] [--top-p P] [--seed S] ID...
 *
 * Greedy unless --temperature is given. Prints the prompt, then each new id as it is generated. */
#include "gpt2gen.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Called by gpt2gen_gen_run with each new token; returning nonzero would stop the run. */
static int stream(int64_t token, void *user) {
    (void)user;
    printf(" %lld", (long long)token);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s WEIGHTS [--max-new N] [--temperature T] [--top-k K] [--top-p P] [--seed S] ID...\n", argv[0]);
        return 2;
    }
    long long max_new = 16, top_k = 0;
    float temperature = 0, top_p = 1;
    unsigned long long seed = 0;
    int64_t prompt[GPT2GEN_GEN_MAX_LENGTH];
    int64_t count = 0;
    for (int i = 2; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--max-new") == 0) { max_new = atoll(value); i++; }
        else if (strcmp(argv[i], "--temperature") == 0) { temperature = (float)atof(value); i++; }
        else if (strcmp(argv[i], "--top-k") == 0) { top_k = atoll(value); i++; }
        else if (strcmp(argv[i], "--top-p") == 0) { top_p = (float)atof(value); i++; }
        else if (strcmp(argv[i], "--seed") == 0) { seed = strtoull(value, NULL, 10); i++; }
        else if (count < GPT2GEN_GEN_MAX_LENGTH) prompt[count++] = atoll(argv[i]);
    }
    gpt2gen_model *model;
    int status = gpt2gen_create(argv[1], &model);
    if (status != GPT2GEN_OK) { fprintf(stderr, "create: %s\n", gpt2gen_error_message(status)); return 1; }
    gpt2gen_gen *gen;
    status = gpt2gen_gen_create(model, 0, &gen);     /* 0: the compiled bound, GPT2GEN_GEN_MAX_LENGTH */
    if (status != GPT2GEN_OK) { fprintf(stderr, "gen_create: %s\n", gpt2gen_error_message(status)); return 1; }
    if (temperature > 0) status = gpt2gen_gen_set_sampling(gen, temperature, top_k, top_p, seed);
    if (status == GPT2GEN_OK) status = gpt2gen_gen_prompt(gen, prompt, count);
    if (status == GPT2GEN_OK) {
        printf("prompt:");
        for (int64_t i = 0; i < count; i++) printf(" %lld", (long long)prompt[i]);
        printf("\nnew:   ");
        int64_t generated = 0;
        status = gpt2gen_gen_run(gen, max_new, stream, NULL, &generated);
        printf("\n%lld new tokens, %lld in the sequence\n", (long long)generated, (long long)gpt2gen_gen_length(gen));
    }
    if (status != GPT2GEN_OK) fprintf(stderr, "error %d: %s\n", status, gpt2gen_gen_last_error(gen));
    gpt2gen_gen_destroy(gen);
    gpt2gen_destroy(model);
    return status == GPT2GEN_OK ? 0 : 1;
}
