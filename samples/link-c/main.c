/* The smallest app that links a model compiled by tcompile: it classifies token ids with the shipped
 * classifier (samples/classify). Build and run with ./run.sh, which compiles the model first:
 *
 *   cc main.c -I lib -L lib -lclassify -lm -o classify-app
 *   ./classify-app lib/classify.weights 2 3045 1140 ...   (ids from `tcompile tokenize`)
 */
#include <stdio.h>
#include <stdlib.h>
#include "classify.h"

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s WEIGHTS ID...\n", argv[0]); return 2; }
    int64_t seq = argc - 2;
    int64_t dims[CLASSIFY_NUM_DIMS] = {seq};                   /* seq (batch is 1; see classify.h) */
    int64_t *ids = malloc(sizeof(int64_t) * seq), *mask = malloc(sizeof(int64_t) * seq), *types = calloc(seq, sizeof(int64_t));
    for (int64_t i = 0; i < seq; i++) { ids[i] = atoll(argv[2 + i]); mask[i] = 1; }

    classify_model *model;
    int status = classify_create(argv[1], &model);
    if (status != CLASSIFY_OK) { fprintf(stderr, "create: %s\n", classify_error_message(status)); return 1; }
    float logits[4];
    void *workspace = aligned_alloc(64, (classify_workspace_size() + 63) / 64 * 64);
    const void *inputs[CLASSIFY_NUM_INPUTS] = {ids, mask, types};   /* input_ids, attention_mask, token_type_ids */
    void *outputs[CLASSIFY_NUM_OUTPUTS] = {logits};
    status = classify_run(model, dims, inputs, outputs, workspace);
    if (status != CLASSIFY_OK) { fprintf(stderr, "run: %s\n", classify_error_message(status)); return 1; }

    const char *labels[4] = {"sports", "cooking", "technology", "weather"};
    int best = 0;
    for (int i = 1; i < 4; i++) if (logits[i] > logits[best]) best = i;
    printf("%s (logits %.3f %.3f %.3f %.3f)\n", labels[best], logits[0], logits[1], logits[2], logits[3]);
    classify_destroy(model);
    free(workspace); free(ids); free(mask); free(types);
    return 0;
}
