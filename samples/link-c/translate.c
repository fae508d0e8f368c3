/* Greedy decoding with a compiled encoder-decoder (BART, T5): the library's two entries, s2s_encode_run
 * (the encoder and every decoder layer's cross-attention keys and values, once) and s2s_decode_step_run
 * (one token against the self-attention cache this program keeps), as docs/c-abi.md describes.
 *
 *   tcompile model.json --name s2s -o lib        (a text2text-generation manifest with dynamic_dims.batch.max 1)
 *   cc -std=c11 translate.c -I lib -L lib -ls2s -lm -o translate
 *   ./translate lib/s2s.weights MAX_NEW START EOS ID...
 *
 * Prints the decoder start token then the new token ids, as transformers' model.generate returns
 * them (greedy, stopping after EOS; EOS -1 never stops). */
#include "s2s.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decoder layers: decode_step's outputs are logits then present.L.key / present.L.value per layer. */
#define LAYERS ((S2S_DECODE_STEP_NUM_OUTPUTS - 1) / 2)

static void *aligned(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64 + 64); }

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: %s WEIGHTS MAX_NEW START EOS ID...\n", argv[0]); return 2; }
    long long max_new = atoll(argv[2]);
    int64_t start = atoll(argv[3]), eos = atoll(argv[4]);
    if (max_new < 1) { fprintf(stderr, "MAX_NEW must be at least 1, got %lld\n", max_new); return 2; }
    int64_t source = argc - 5;
    int64_t *ids = malloc(sizeof(int64_t) * source), *mask = malloc(sizeof(int64_t) * source);
    for (int64_t i = 0; i < source; i++) { ids[i] = atoll(argv[5 + i]); mask[i] = 1; }

    s2s_model *model;
    int status = s2s_create(argv[1], &model);
    if (status != S2S_OK) { fprintf(stderr, "create: %s\n", s2s_error_message(status)); return 1; }
    size_t ws = s2s_encode_workspace_size() > s2s_decode_step_workspace_size() ? s2s_encode_workspace_size() : s2s_decode_step_workspace_size();
    void *workspace = aligned(ws);

    /* Encode once: dims {source}; outputs encoder_last_hidden_state, cross.L.key, cross.L.value. */
    int64_t encode_dims[S2S_ENCODE_NUM_DIMS] = {source};
    const void *encode_inputs[S2S_ENCODE_NUM_INPUTS] = {ids, mask};
    void *encode_outputs[S2S_ENCODE_NUM_OUTPUTS];
    for (int i = 0; i < S2S_ENCODE_NUM_OUTPUTS; i++) encode_outputs[i] = aligned(sizeof(float) * s2s_encode_output_elements(i, encode_dims));
    status = s2s_encode_run(model, encode_dims, encode_inputs, encode_outputs, workspace);
    if (status != S2S_OK) { fprintf(stderr, "encode: %s\n", s2s_error_message(status)); return 1; }

    /* The self-attention cache: two buffers per key and value, each sized for max_new positions (the
     * bound), used in turn: step t reads past = t positions from one and writes t + 1 into the other. */
    int64_t bound_dims[S2S_DECODE_STEP_NUM_DIMS] = {source, max_new - 1};   /* dims: source, past */
    float *cache[2][2 * LAYERS];
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < 2 * LAYERS; i++) cache[side][i] = aligned(sizeof(float) * s2s_decode_step_output_elements(1 + i, bound_dims));
    int64_t vocab = s2s_decode_step_output_elements(0, bound_dims);
    float *logits = aligned(sizeof(float) * vocab);

    int64_t token = start;
    printf("%lld", (long long)start);
    for (long long past = 0; past < max_new; past++) {
        int64_t dims[S2S_DECODE_STEP_NUM_DIMS] = {source, past};
        const void *inputs[S2S_DECODE_STEP_NUM_INPUTS];
        void *outputs[S2S_DECODE_STEP_NUM_OUTPUTS];
        /* Inputs: decoder_input_ids, encoder_attention_mask, past.L.key/value, cross.L.key/value. */
        inputs[0] = &token;
        inputs[1] = mask;
        for (int i = 0; i < 2 * LAYERS; i++) {
            inputs[2 + i] = cache[past % 2][i];                 /* past positions (none on the first step) */
            inputs[2 + 2 * LAYERS + i] = encode_outputs[1 + i];
            outputs[1 + i] = cache[(past + 1) % 2][i];
        }
        outputs[0] = logits;
        status = s2s_decode_step_run(model, dims, inputs, outputs, workspace);
        if (status != S2S_OK) { fprintf(stderr, "decode_step: %s\n", s2s_error_message(status)); return 1; }
        int64_t best = 0;
        for (int64_t v = 1; v < vocab; v++) if (logits[v] > logits[best]) best = v;
        token = best;
        printf(" %lld", (long long)token);
        if (token == eos) break;
    }
    printf("\n");
    s2s_destroy(model);
    return 0;
}
