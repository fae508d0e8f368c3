/* Generates text with a compiled causal language model that generates on its own: the library's KV
 * cache, sampling and stop tokens (the tinylm_gen_* functions of tinylm.h), each token printed as it
 * comes.
 *
 *   cc -std=c11 generate.c -I lib -L lib -ltinylm -lm -o generate
 *   ./generate lib/tinylm.weights [--vocab vocab.txt] [--no-stop] [--max-new N] [--temperature T] [--top-k K] [--top-p P] [--seed S] ID...
 *
 * Greedy unless --temperature is given; stops after the model's EOS unless --no-stop. With --vocab (a WordPiece vocab.txt, one token per line)
 * tokens print as words, else as ids. */
#include "tinylm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The vocabulary's spellings, id → text (NULL: print ids). */
static char **words;

static char **read_vocab(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char **table = calloc(TINYLM_GEN_VOCAB_SIZE, sizeof(char *));
    char line[256];
    for (int i = 0; i < TINYLM_GEN_VOCAB_SIZE && fgets(line, sizeof line, f); i++) {
        line[strcspn(line, "\r\n")] = 0;
        table[i] = malloc(strlen(line) + 1);
        if (table[i]) memcpy(table[i], line, strlen(line) + 1);
    }
    fclose(f);
    return table;
}

static void print_token(int64_t token) {
    if (!words) { printf(" %lld", (long long)token); return; }
    const char *w = words[token] ? words[token] : "?";
    if (w[0] == '[') return;                                   /* [CLS], [SEP], [PAD]: not text */
    if (strncmp(w, "##", 2) == 0) printf("%s", w + 2);          /* a word piece continues the word */
    else if (strchr(".,!?;:", w[0]) && w[1] == 0) printf("%s", w);
    else printf(" %s", w);
}

/* Called by tinylm_gen_run with each new token; returning nonzero would stop the run. */
static int stream(int64_t token, void *user) {
    (void)user;
    print_token(token);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s WEIGHTS [--vocab FILE] [--no-stop] [--max-new N] [--temperature T] [--top-k K] [--top-p P] [--seed S] ID...\n", argv[0]);
        return 2;
    }
    long long max_new = 16, top_k = 0;
    float temperature = 0, top_p = 1;
    unsigned long long seed = 0;
    int no_stop = 0;
    int64_t prompt[TINYLM_GEN_MAX_LENGTH];
    int64_t count = 0;
    for (int i = 2; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--vocab") == 0) { words = read_vocab(value); i++; if (!words) { fprintf(stderr, "cannot read %s\n", value); return 2; } }
        else if (strcmp(argv[i], "--no-stop") == 0) no_stop = 1;
        else if (strcmp(argv[i], "--max-new") == 0) { max_new = atoll(value); i++; }
        else if (strcmp(argv[i], "--temperature") == 0) { temperature = (float)atof(value); i++; }
        else if (strcmp(argv[i], "--top-k") == 0) { top_k = atoll(value); i++; }
        else if (strcmp(argv[i], "--top-p") == 0) { top_p = (float)atof(value); i++; }
        else if (strcmp(argv[i], "--seed") == 0) { seed = strtoull(value, NULL, 10); i++; }
        else if (count < TINYLM_GEN_MAX_LENGTH) prompt[count++] = atoll(argv[i]);
    }
    tinylm_model *model;
    int status = tinylm_create(argv[1], &model);
    if (status != TINYLM_OK) { fprintf(stderr, "create: %s\n", tinylm_error_message(status)); return 1; }
    tinylm_gen *gen;
    status = tinylm_gen_create(model, 0, &gen);     /* 0: the compiled bound, TINYLM_GEN_MAX_LENGTH */
    if (status != TINYLM_OK) { fprintf(stderr, "gen_create: %s\n", tinylm_error_message(status)); return 1; }
    if (temperature > 0) status = tinylm_gen_set_sampling(gen, temperature, top_k, top_p, seed);
    if (status == TINYLM_OK && no_stop) status = tinylm_gen_set_stop_tokens(gen, NULL, 0);
    if (status == TINYLM_OK) status = tinylm_gen_prompt(gen, prompt, count);
    if (status == TINYLM_OK) {
        printf("prompt:");
        for (int64_t i = 0; i < count; i++) print_token(prompt[i]);
        printf("\nnew:   ");
        int64_t generated = 0;
        status = tinylm_gen_run(gen, max_new, stream, NULL, &generated);   /* stops after [SEP], the config's EOS */
        printf("\n%lld new tokens, %lld in the sequence\n", (long long)generated, (long long)tinylm_gen_length(gen));
    }
    if (status != TINYLM_OK) fprintf(stderr, "error %d: %s\n", status, tinylm_gen_last_error(gen));
    tinylm_gen_destroy(gen);
    tinylm_destroy(model);
    return status == TINYLM_OK ? 0 : 1;
}
