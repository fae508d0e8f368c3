/* A C program that links all-MiniLM-L6-v2 compiled by tcompile: it embeds token ids (from
 * `tcompile tokenize`) into a sentence vector (mean pooling over the tokens, L2 normalized) and,
 * given the eager outputs saved by `tcompile run --eager -o eager.safetensors`, checks that the
 * compiled last_hidden_state equals them within 1e-4 (exit 1 if not). Build and run with ./minilm.sh:
 *
 *   cc embed.c -I lib -L lib -lminilm -lm -o embed
 *   ./embed lib/minilm.weights [--expect eager.safetensors] 101 7592 1010 ...
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "minilm.h"

enum { HIDDEN = 384 };

/* Reads tensor `name` (F32) from a safetensors file: an 8-byte little-endian header length, a JSON
 * header mapping names to {"dtype", "shape", "data_offsets": [begin, end]}, then the data. Returns a
 * malloc'd array and its element count, or NULL. */
static float *read_safetensors_f32(const char *path, const char *name, long *count) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char size_bytes[8];
    float *data = NULL;
    if (fread(size_bytes, 1, 8, f) == 8) {
        unsigned long long header_size = 0;
        for (int i = 7; i >= 0; i--) header_size = header_size << 8 | size_bytes[i];
        char *header = calloc(header_size + 1, 1), key[256];
        snprintf(key, sizeof key, "\"%s\"", name);
        char *entry, *offsets;
        long long begin, end;
        if (header && fread(header, 1, header_size, f) == header_size && (entry = strstr(header, key))
            && strstr(entry, "\"F32\"") && (offsets = strstr(entry, "\"data_offsets\""))
            && sscanf(strchr(offsets, '[') + 1, "%lld , %lld", &begin, &end) == 2 && (data = malloc(end - begin))) {
            fseek(f, (long)(8 + header_size + begin), SEEK_SET);
            if (fread(data, 1, end - begin, f) != (size_t)(end - begin)) { free(data); data = NULL; }
            *count = (long)((end - begin) / sizeof(float));
        }
        free(header);
    }
    fclose(f);
    return data;
}

int main(int argc, char **argv) {
    const char *expect = NULL;
    int first = 2;
    if (argc > 3 && strcmp(argv[2], "--expect") == 0) { expect = argv[3]; first = 4; }
    if (argc <= first) { fprintf(stderr, "usage: %s WEIGHTS [--expect EAGER.safetensors] ID...\n", argv[0]); return 2; }
    int64_t seq = argc - first;
    int64_t dims[MINILM_NUM_DIMS] = {seq};                       /* seq (batch is 1; see minilm.h) */
    int64_t *ids = malloc(sizeof(int64_t) * seq), *mask = malloc(sizeof(int64_t) * seq), *types = calloc(seq, sizeof(int64_t));
    for (int64_t i = 0; i < seq; i++) { ids[i] = atoll(argv[first + i]); mask[i] = 1; }

    minilm_model *model;
    int status = minilm_create(argv[1], &model);
    if (status != MINILM_OK) { fprintf(stderr, "create: %s\n", minilm_error_message(status)); return 1; }
    float *hidden = malloc(sizeof(float) * minilm_output_elements(0, dims)), pooled[HIDDEN];
    void *workspace = aligned_alloc(64, (minilm_workspace_size() + 63) / 64 * 64);
    const void *inputs[MINILM_NUM_INPUTS] = {ids, mask, types};     /* input_ids, attention_mask, token_type_ids */
    void *outputs[MINILM_NUM_OUTPUTS] = {hidden, pooled};           /* last_hidden_state, pooler_output */
    status = minilm_run(model, dims, inputs, outputs, workspace);
    if (status != MINILM_OK) { fprintf(stderr, "run: %s\n", minilm_error_message(status)); return 1; }

    /* Sentence embedding: the mean of the token vectors, L2 normalized (sentence-transformers' recipe). */
    float embedding[HIDDEN] = {0}, norm = 0;
    for (int64_t t = 0; t < seq; t++)
        for (int j = 0; j < HIDDEN; j++) embedding[j] += hidden[t * HIDDEN + j] / seq;
    for (int j = 0; j < HIDDEN; j++) norm += embedding[j] * embedding[j];
    printf("embedding (%d dims):", HIDDEN);
    for (int j = 0; j < 8; j++) printf(" %.5f", embedding[j] / sqrtf(norm));
    printf(" ...\n");

    int failed = 0;
    if (expect) {
        long count = 0;
        float *eager = read_safetensors_f32(expect, "last_hidden_state", &count);
        if (!eager || count != seq * HIDDEN) { fprintf(stderr, "%s: no last_hidden_state of %lld floats\n", expect, (long long)(seq * HIDDEN)); return 1; }
        float worst = 0;
        for (long i = 0; i < count; i++) worst = fmaxf(worst, fabsf(eager[i] - hidden[i]));
        failed = !(worst <= 1e-4f);
        printf("compiled vs eager last_hidden_state: max |difference| %.2e over %ld values (tolerance 1e-4): %s\n",
               worst, count, failed ? "DIFFERENT" : "equal");
        free(eager);
    }
    minilm_destroy(model);
    free(workspace); free(hidden); free(ids); free(mask); free(types);
    return failed;
}
