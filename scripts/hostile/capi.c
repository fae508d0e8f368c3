/* Hostile calls into the C API of a model compiled by tcompile as `hm` (the shipped classifier,
 * exported with --max-batch 2 --max-seq 32: inputs input_ids, attention_mask, token_type_ids of
 * [batch, seq]; output logits [batch, 4]). One case per run: `capi CASE WEIGHTS`. It prints
 * `status N` for the call under test (and `logits …` when a run succeeds); hostile.py judges it.
 * Build: cc -std=c11 capi.c -I LIB -L LIB -lhm -lm -o capi */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hm.h"

static int64_t ids[2 * 32], mask[2 * 32], types[2 * 32];
static float logits[2 * 4];

/* Runs the model on dims {batch, seq} with ids 1 2 3 … (inside the vocabulary), mask 1, types 0. */
static int run(hm_model *m, int64_t batch, int64_t seq, const void *const *in, void *const *out, void *ws) {
    int64_t dims[HM_NUM_DIMS] = {batch, seq};
    return hm_run(m, dims, in, out, ws);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: capi CASE WEIGHTS\n"); return 2; }
    const char *c = argv[1], *weights = argv[2];
    for (int i = 0; i < 2 * 32; i++) { ids[i] = 1 + i % 500; mask[i] = 1; types[i] = 0; }
    const void *in[HM_NUM_INPUTS] = {ids, mask, types};
    void *out[HM_NUM_OUTPUTS] = {logits};
    void *ws = aligned_alloc(64, (hm_workspace_size() + 63) / 64 * 64);
    hm_model *m = NULL;

    /* Cases that test hm_create itself. */
    if (!strcmp(c, "create")) { printf("status %d\n", hm_create(weights, &m)); hm_destroy(m); return 0; }
    if (!strcmp(c, "create-null-path")) { printf("status %d\n", hm_create(NULL, &m)); return 0; }
    if (!strcmp(c, "create-null-out")) { printf("status %d\n", hm_create(weights, NULL)); return 0; }
    if (!strcmp(c, "create-embedded")) { printf("status %d\n", hm_create_embedded(&m)); hm_destroy(m); return 0; }
    if (!strcmp(c, "create-embedded-null")) { printf("status %d\n", hm_create_embedded(NULL)); return 0; }
    if (!strcmp(c, "destroy-null")) { hm_destroy(NULL); printf("status 0\n"); return 0; }
    if (!strcmp(c, "workspace-size")) { printf("status %d\n", hm_workspace_size() > 0 ? 0 : 1); return 0; }
    if (!strcmp(c, "messages")) {   /* every code, and codes no call returns, have a message */
        int codes[] = {0, 1, 2, 3, 4, 5, 6, 7, -1, 99, INT_MAX, INT_MIN};
        for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
            const char *s = hm_error_message(codes[i]);
            if (s == NULL || !*s) { printf("status 1\n"); return 0; }
        }
        printf("status 0\n");
        return 0;
    }
    if (!strncmp(c, "elements", 8)) {   /* elements:INDEX:BATCH:SEQ, or elements-null */
        if (!strcmp(c, "elements-null")) { printf("status %lld\n", (long long)hm_output_elements(0, NULL)); return 0; }
        int index = 0; long long b = 1, s = 1;
        sscanf(c, "elements:%d:%lld:%lld", &index, &b, &s);
        int64_t dims[HM_NUM_DIMS] = {b, s};
        printf("status %lld\n", (long long)hm_output_elements(index, dims));
        return 0;
    }

    int status = hm_create(weights, &m);
    if (status != HM_OK) { printf("create %d\n", status); return 0; }
    if (!strcmp(c, "run")) status = run(m, 1, 8, in, out, ws);
    else if (!strcmp(c, "run-max")) status = run(m, 2, 32, in, out, ws);
    else if (!strcmp(c, "run-null-model")) status = run(NULL, 1, 8, in, out, ws);
    else if (!strcmp(c, "run-null-dims")) status = hm_run(m, NULL, in, out, ws);
    else if (!strcmp(c, "run-null-inputs")) status = run(m, 1, 8, NULL, out, ws);
    else if (!strcmp(c, "run-null-input")) { const void *bad[HM_NUM_INPUTS] = {ids, NULL, types}; status = run(m, 1, 8, bad, out, ws); }
    else if (!strcmp(c, "run-null-outputs")) status = run(m, 1, 8, in, NULL, ws);
    else if (!strcmp(c, "run-null-output")) { void *bad[HM_NUM_OUTPUTS] = {NULL}; status = run(m, 1, 8, in, bad, ws); }
    else if (!strcmp(c, "run-null-workspace")) status = run(m, 1, 8, in, out, NULL);
    else if (!strncmp(c, "dims:", 5)) { long long b, s; sscanf(c, "dims:%lld:%lld", &b, &s); status = run(m, b, s, in, out, ws); }
    else if (!strncmp(c, "id:", 3)) { ids[3] = strtoll(c + 3, NULL, 10); status = run(m, 1, 8, in, out, ws); }
    else if (!strncmp(c, "id-last:", 8)) { ids[31] = strtoll(c + 8, NULL, 10); status = run(m, 1, 32, in, out, ws); }
    else if (!strncmp(c, "type:", 5)) { types[2] = strtoll(c + 5, NULL, 10); status = run(m, 1, 8, in, out, ws); }
    else if (!strncmp(c, "threads:", 8)) {
        status = hm_set_threads(m, atoi(c + 8));
        printf("status %d\n", status);
        status = run(m, 1, 8, in, out, ws);   /* the model still runs, whatever the call said */
        printf("run-after %d\n", status);
        if (status == HM_OK) printf("logits %.5f %.5f %.5f %.5f\n", logits[0], logits[1], logits[2], logits[3]);
        hm_destroy(m);
        return 0;
    }
    else if (!strcmp(c, "run-twice")) {   /* a second call on the same workspace gives the same logits */
        status = run(m, 1, 8, in, out, ws);
        float first[4]; memcpy(first, logits, sizeof first);
        if (status == HM_OK) { memset(ws, 0xFF, hm_workspace_size()); status = run(m, 1, 8, in, out, ws); }
        if (status == HM_OK && memcmp(first, logits, sizeof first)) status = 100;
    }
    else { fprintf(stderr, "unknown case %s\n", c); return 2; }
    printf("status %d\n", status);
    if (status == HM_OK) printf("logits %.5f %.5f %.5f %.5f\n", logits[0], logits[1], logits[2], logits[3]);
    hm_destroy(m);
    free(ws);
    return 0;
}
