import NN
import Tensors

/// A decoder-only language model that `generate` can drive (`GPT2LMHeadModel`): a forward pass that
/// appends to a KV cache and returns next-token logits, and the few config values decoding needs.
///
/// `generate` (eager) and TCompile's `CompiledGenerator` (compiled) both work on any conforming model,
/// so a new architecture gets both by conforming once.
///
/// ```swift
/// let gpt2 = try GPT2LMHeadModel.fromPretrained(directory: url)
/// let tokens = try gpt2.generate([[464, 3290]], config: .greedy(maxNewTokens: 16))
/// ```
public protocol CausalLanguageModel: Module {
    /// Size of the vocabulary (`vocab_size`): token ids must be below it.
    var vocabularySize: Int { get }
    /// Longest sequence the position table allows (`n_positions`).
    var maxPositions: Int { get }
    /// Number of decoder layers, one KV-cache entry each (`n_layer`).
    var layerCount: Int { get }
    /// The shared config fields: `eos_token_id` and `pad_token_id` are the decoding defaults.
    var commonConfig: CommonConfig { get }
    /// The trusted-input forward pass: with a `cache`, `inputs.inputIds` are the new positions only and
    /// their keys and values are appended to it; logits of the last `logitsToKeep` positions.
    func forward(_ inputs: DecoderInputs, cache: KVCache?, labels: Tensor?, logitsToKeep: Int?) -> CausalLMOutput
}
