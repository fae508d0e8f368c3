import Graph
import NN
import Tensors

// Eager reference models that follow Hugging Face's op sequence line by line (BERT and RoBERTa from
// modeling_bert.py / modeling_roberta.py, GPT-2 from modeling_gpt2.py), built from NN's Linear and
// LayerNorm, so that the passes are tested on what the tracer records from HF-style code.

/// Deterministic parameters under their Hugging Face names.
final class Parameters: @unchecked Sendable {
    private(set) var tensors: [String: Tensor] = [:]
    private var seed: UInt64
    let scale: Float

    init(seed: UInt64, std: Float = 0.2) { self.seed = seed; scale = std / 0.2 }

    func randn(_ name: String, _ shape: [Int], mean: Float = 0, std: Float = 0.2) -> Tensor {
        let std = std * scale
        seed += 1
        let t = Tensor.randn(shape, mean: mean, std: std, seed: seed)
        tensors[name] = t
        return t
    }

    func buffer(_ name: String, _ t: Tensor) -> Tensor { tensors[name] = t; return t }

    /// `nn.Linear(inF, outF)` with weight `[outF, inF]`.
    func linear(_ name: String, _ inF: Int, _ outF: Int) -> Linear {
        let l = Linear(inF, outF)
        l.weight = randn(name + ".weight", [outF, inF])
        l.bias = randn(name + ".bias", [outF], std: 0.05)
        return l
    }

    func layerNorm(_ name: String, _ n: Int, eps: Double) -> LayerNorm {
        let ln = LayerNorm(n, eps: eps)
        ln.weight = randn(name + ".weight", [n], mean: 1, std: 0.1)
        ln.bias = randn(name + ".bias", [n], std: 0.05)
        return ln
    }
}

/// A reference model: parameters, the eager forward, example inputs and their dynamic dims.
protocol ReferenceModel: Sendable {
    var name: String { get }
    var parameters: Parameters { get }
    var layers: Int { get }
    var dynamicDims: [DynamicDim] { get }
    func forward(_ inputs: [String: Tensor]) -> [(name: String, tensor: Tensor)]
    func example(batch: Int, seq: Int, seed: UInt64) -> [(name: String, tensor: Tensor)]
}

extension ReferenceModel {
    /// The traced graph.
    func trace() throws -> Graph {
        try Tracer.trace(inputs: example(batch: 2, seq: 5, seed: 1), dynamicDims: dynamicDims,
                         constants: parameters.tensors) { forward($0) }
    }
}

/// `[batch, seq]` ids in `low..<high` and a padding mask whose last row ends in two padded positions.
func idsAndMask(batch: Int, seq: Int, low: Int, high: Int, seed: UInt64) -> (Tensor, Tensor) {
    let ids = Tensor.randint(low, high, shape: [batch, seq], seed: seed)
    var mask = [Int](repeating: 1, count: batch * seq)
    if batch > 1 && seq > 2 { mask[batch * seq - 1] = 0; mask[batch * seq - 2] = 0 }
    return (ids, Tensor(mask, shape: [batch, seq]))
}

/// BERT's shape of model (BertModel: embeddings, post-LN encoder, pooler), with RoBERTa's
/// position ids, TF-style decomposed LayerNorm, GELU written out and a −10000 mask as options.
struct BertLike: ReferenceModel, @unchecked Sendable {
    struct Config {
        var vocab = 40, hidden = 32, heads = 4, layers = 2, intermediate = 64, maxPositions = 64
        var eps = 1e-12
        /// `finfo.min` (current HF) or −10000 (older HF).
        var maskFill = -Float.greatestFiniteMagnitude
        /// RoBERTa: positions counted over non-padding tokens from `paddingIndex + 1`.
        var robertaPositions = false
        /// pytorch-pretrained-bert's `BertLayerNorm` (mean, variance, sqrt by hand) and `gelu` with erf by hand.
        var decomposed = false
        var seqBound = 32, batchBound = 4
        /// Standard deviation of the random weights (HF initializes with 0.02).
        var initStd: Float = 0.2
    }

    let name: String
    let config: Config
    let parameters: Parameters
    var layers: Int { config.layers }
    let wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings, positionIDs, tokenTypeIDs: Tensor
    let embeddingNorm: LayerNorm
    struct Layer { let query, key, value, attentionOut, intermediate, output: Linear; let attentionNorm, outputNorm: LayerNorm }
    let encoder: [Layer]
    let pooler: Linear

    init(name: String, config: Config, seed: UInt64) {
        self.name = name
        self.config = config
        let p = Parameters(seed: seed, std: config.initStd)
        parameters = p
        let h = config.hidden
        wordEmbeddings = p.randn("embeddings.word_embeddings.weight", [config.vocab, h])
        positionEmbeddings = p.randn("embeddings.position_embeddings.weight", [config.maxPositions, h])
        tokenTypeEmbeddings = p.randn("embeddings.token_type_embeddings.weight", [2, h])
        positionIDs = p.buffer("embeddings.position_ids", Tensor.arange(config.maxPositions).reshaped([1, -1]))
        tokenTypeIDs = p.buffer("embeddings.token_type_ids", Tensor.zeros([1, config.maxPositions], dtype: .int64))
        embeddingNorm = p.layerNorm("embeddings.LayerNorm", h, eps: config.eps)
        encoder = (0..<config.layers).map { i in
            let n = "encoder.layer.\(i)."
            return Layer(query: p.linear(n + "attention.self.query", h, h), key: p.linear(n + "attention.self.key", h, h),
                         value: p.linear(n + "attention.self.value", h, h), attentionOut: p.linear(n + "attention.output.dense", h, h),
                         intermediate: p.linear(n + "intermediate.dense", h, config.intermediate),
                         output: p.linear(n + "output.dense", config.intermediate, h),
                         attentionNorm: p.layerNorm(n + "attention.output.LayerNorm", h, eps: config.eps),
                         outputNorm: p.layerNorm(n + "output.LayerNorm", h, eps: config.eps))
        }
        pooler = p.linear("pooler.dense", h, h)
    }

    var dynamicDims: [DynamicDim] {
        ["input_ids", "attention_mask"].flatMap { input in
            [DynamicDim(input: input, dim: 0, symbol: "batch", max: config.batchBound),
             DynamicDim(input: input, dim: 1, symbol: "seq", max: config.seqBound)]
        }
    }

    func example(batch: Int, seq: Int, seed: UInt64) -> [(name: String, tensor: Tensor)] {
        let (ids, mask) = idsAndMask(batch: batch, seq: seq, low: 2, high: config.vocab, seed: seed)
        // RoBERTa pads with id 1 where the mask is 0.
        let padded = config.robertaPositions ? Tensor.where(mask .== 0, Tensor([1], shape: [], dtype: .int64), ids) : ids
        return [("input_ids", padded.contiguous()), ("attention_mask", mask)]
    }

    func norm(_ ln: LayerNorm, _ x: Tensor) -> Tensor {
        guard config.decomposed else { return ln(x) }
        let u = x.mean(dim: -1, keepDim: true)
        let s = (x - u).pow(2).mean(dim: -1, keepDim: true)
        let normalized = (x - u) / (s + Float(config.eps)).sqrt()
        return ln.weight * normalized + ln.bias
    }

    func gelu(_ x: Tensor) -> Tensor {
        config.decomposed ? x * 0.5 * (1.0 + (x / Float(2).squareRoot()).erf()) : x.gelu()
    }

    func forward(_ inputs: [String: Tensor]) -> [(name: String, tensor: Tensor)] {
        let ids = inputs["input_ids"]!, mask = inputs["attention_mask"]!
        let b = ids.size(0), s = ids.size(1), h = config.hidden, heads = config.heads, d = h / heads
        // BertEmbeddings / RobertaEmbeddings.
        let positions: Tensor
        if config.robertaPositions {
            // create_position_ids_from_input_ids: cumsum(mask) * mask + padding_idx (cumsum as a product
            // with an upper-triangular matrix).
            let notPad = (ids .!= 1).cast(to: .float32)
            let upper = (Tensor.arange(s).unsqueezed(at: 1) .<= Tensor.arange(s).unsqueezed(at: 0)).cast(to: .float32)
            positions = (notPad.matmul(upper) * notPad).cast(to: .int64) + 1
        } else {
            positions = positionIDs.sliced(dim: 1, start: 0, end: s)
        }
        // HF expands the buffered zeros to [b, s]; eager `expanded` skips that at batch 1, so index with [1, s].
        let tokenTypes = tokenTypeIDs.sliced(dim: 1, start: 0, end: s)
        var x = wordEmbeddings.indexSelect(dim: 0, index: ids) + tokenTypeEmbeddings.indexSelect(dim: 0, index: tokenTypes)
        x = x + positionEmbeddings.indexSelect(dim: 0, index: positions)
        x = norm(embeddingNorm, x)
        // get_extended_attention_mask.
        let extended = (1 - mask.unsqueezed(at: 1).unsqueezed(at: 1).cast(to: .float32)) * config.maskFill
        for layer in encoder {
            func split(_ t: Tensor) -> Tensor { t.reshaped([b, s, heads, d]).permuted([0, 2, 1, 3]) }
            let q = split(layer.query(x)), k = split(layer.key(x)), v = split(layer.value(x))
            var scores = q.matmul(k.transposed(-1, -2))
            scores = scores / Float(d).squareRoot()
            scores = scores + extended
            let probabilities = scores.softmax(dim: -1)
            let context = probabilities.matmul(v).permuted([0, 2, 1, 3]).contiguous().reshaped([b, s, h])
            let attention = norm(layer.attentionNorm, layer.attentionOut(context) + x)
            let intermediate = gelu(layer.intermediate(attention))
            x = norm(layer.outputNorm, layer.output(intermediate) + attention)
        }
        let pooled = pooler(x.selected(dim: 1, index: 0)).tanh()
        return [("last_hidden_state", x), ("pooler_output", pooled)]
    }
}

/// GPT2LMHeadModel: Conv1D projections (`addmm` over a flattened view), a fused qkv projection split
/// three ways, the causal `bias` buffer sliced at `[t − s, t)`, `where` with `finfo.min`, an additive
/// padding mask, pre-LN blocks, `gelu_new` written out, and the LM head tied to the token embedding.
/// With `cache`, each layer takes `past_key.i` / `past_value.i` (`[batch, heads, past, headDim]`),
/// concatenates them and returns the presents (the KV-cache decode form; no padding mask then).
struct GPT2Like: ReferenceModel, @unchecked Sendable {
    struct Config {
        var vocab = 50, hidden = 36, heads = 3, layers = 2, maxPositions = 64, eps = 1e-5
        var cache = false
        var seqBound = 16, batchBound = 4, pastBound = 16
    }

    let name: String
    let config: Config
    let parameters: Parameters
    var layers: Int { config.layers }
    let wte, wpe: Tensor
    struct Block { let ln1, ln2: LayerNorm; let attnW, attnB, projW, projB, fcW, fcB, mlpW, mlpB, bias: Tensor }
    let blocks: [Block]
    let lnF: LayerNorm

    init(name: String, config: Config, seed: UInt64) {
        self.name = name
        self.config = config
        let p = Parameters(seed: seed)
        parameters = p
        let h = config.hidden, n = config.maxPositions
        wte = p.randn("transformer.wte.weight", [config.vocab, h])
        wpe = p.randn("transformer.wpe.weight", [n, h], std: 0.05)
        let causal = (Tensor.arange(n).unsqueezed(at: 0) .<= Tensor.arange(n).unsqueezed(at: 1)).reshaped([1, 1, n, n]).contiguous()
        blocks = (0..<config.layers).map { i in
            let pre = "transformer.h.\(i)."
            return Block(ln1: p.layerNorm(pre + "ln_1", h, eps: config.eps), ln2: p.layerNorm(pre + "ln_2", h, eps: config.eps),
                         attnW: p.randn(pre + "attn.c_attn.weight", [h, 3 * h]), attnB: p.randn(pre + "attn.c_attn.bias", [3 * h], std: 0.05),
                         projW: p.randn(pre + "attn.c_proj.weight", [h, h]), projB: p.randn(pre + "attn.c_proj.bias", [h], std: 0.05),
                         fcW: p.randn(pre + "mlp.c_fc.weight", [h, 4 * h]), fcB: p.randn(pre + "mlp.c_fc.bias", [4 * h], std: 0.05),
                         mlpW: p.randn(pre + "mlp.c_proj.weight", [4 * h, h]), mlpB: p.randn(pre + "mlp.c_proj.bias", [h], std: 0.05),
                         bias: p.buffer(pre + "attn.bias", causal))
        }
        lnF = p.layerNorm("transformer.ln_f", h, eps: config.eps)
    }

    var dynamicDims: [DynamicDim] {
        var dims = [DynamicDim(input: "input_ids", dim: 0, symbol: "batch", max: config.batchBound),
                    DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: config.seqBound)]
        if config.cache {
            for i in 0..<config.layers {
                for kind in ["past_key", "past_value"] {
                    dims.append(DynamicDim(input: "\(kind).\(i)", dim: 0, symbol: "batch", max: config.batchBound))
                    dims.append(DynamicDim(input: "\(kind).\(i)", dim: 2, symbol: "past", max: config.pastBound))
                }
            }
        } else {
            dims.append(DynamicDim(input: "attention_mask", dim: 0, symbol: "batch", max: config.batchBound))
            dims.append(DynamicDim(input: "attention_mask", dim: 1, symbol: "seq", max: config.seqBound))
        }
        return dims
    }

    func example(batch: Int, seq: Int, seed: UInt64) -> [(name: String, tensor: Tensor)] {
        let (ids, mask) = idsAndMask(batch: batch, seq: seq, low: 0, high: config.vocab, seed: seed)
        guard config.cache else { return [("input_ids", ids), ("attention_mask", mask)] }
        let past = seq == 1 ? 6 : seq - 1, d = config.hidden / config.heads
        var out: [(name: String, tensor: Tensor)] = [("input_ids", ids)]
        for i in 0..<config.layers {
            out.append(("past_key.\(i)", Tensor.randn([batch, config.heads, past, d], seed: seed &+ UInt64(2 * i + 100))))
            out.append(("past_value.\(i)", Tensor.randn([batch, config.heads, past, d], seed: seed &+ UInt64(2 * i + 101))))
        }
        return out
    }

    /// HF's Conv1D: `addmm(bias, x.view(-1, nx), weight).view(size_out)`.
    func conv1D(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> Tensor {
        let out = Array(x.shape.dropLast()) + [w.size(1)]
        return (b + x.reshaped([-1, x.size(-1)]).matmul(w)).reshaped(out)
    }

    /// NewGELUActivation, as modeling_gpt2 writes it.
    func geluNew(_ x: Tensor) -> Tensor {
        0.5 * x * (1.0 + (Float((2.0 / Double.pi).squareRoot()) * (x + 0.044715 * x.pow(3))).tanh())
    }

    func forward(_ inputs: [String: Tensor]) -> [(name: String, tensor: Tensor)] {
        let ids = inputs["input_ids"]!
        let b = ids.size(0), s = ids.size(1), h = config.hidden, heads = config.heads, d = h / heads
        let past = config.cache ? inputs["past_key.0"]!.size(2) : 0
        let positions = Tensor.arange(past, past + s).unsqueezed(at: 0)
        var x = wte.indexSelect(dim: 0, index: ids) + wpe.indexSelect(dim: 0, index: positions)
        let extended = inputs["attention_mask"].map { mask in
            (1.0 - mask.reshaped([b, -1]).unsqueezed(at: 1).unsqueezed(at: 1).cast(to: .float32)) * -Float.greatestFiniteMagnitude
        }
        var outputs: [(name: String, tensor: Tensor)] = []
        for (i, block) in blocks.enumerated() {
            var residual = x
            let qkv = conv1D(block.ln1(x), block.attnW, block.attnB).split(size: h, dim: 2)
            func splitHeads(_ t: Tensor) -> Tensor { t.reshaped([b, s, heads, d]).permuted([0, 2, 1, 3]) }
            let query = splitHeads(qkv[0])
            var key = splitHeads(qkv[1]), value = splitHeads(qkv[2])
            if config.cache {
                key = Tensor.concat([inputs["past_key.\(i)"]!, key], dim: -2)
                value = Tensor.concat([inputs["past_value.\(i)"]!, value], dim: -2)
                outputs += [("present_key.\(i)", key), ("present_value.\(i)", value)]
            }
            var weights = query.matmul(key.transposed(-1, -2))
            weights = weights / Tensor(Float(value.size(-1)).squareRoot())
            let t = key.size(-2)
            let causal = block.bias.sliced(dim: 2, start: t - s, end: t).sliced(dim: 3, start: 0, end: t)
            weights = Tensor.where(causal, weights, Tensor(-Float.greatestFiniteMagnitude))
            if let extended { weights = weights + extended }
            let attention = weights.softmax(dim: -1).matmul(value).permuted([0, 2, 1, 3]).contiguous().reshaped([b, s, h])
            x = conv1D(attention, block.projW, block.projB) + residual
            residual = x
            let mlp = conv1D(geluNew(conv1D(block.ln2(x), block.fcW, block.fcB)), block.mlpW, block.mlpB)
            x = residual + mlp
        }
        x = lnF(x)
        return [("logits", x.matmul(wte.transposed()))] + outputs
    }
}

/// The models of the family the passes are checked on.
enum Family {
    static let bert = BertLike(name: "bert", config: .init(), seed: 10)
    static let roberta = BertLike(name: "roberta", config: .init(vocab: 40, hidden: 48, heads: 6, layers: 2, intermediate: 96,
                                                                  eps: 1e-5, maskFill: -10_000, robertaPositions: true, decomposed: true),
                                  seed: 20)
    static let gpt2 = GPT2Like(name: "gpt2", config: .init(), seed: 30)
    static let gpt2Cache = GPT2Like(name: "gpt2-kv-cache", config: .init(cache: true), seed: 40)
    static let all: [any ReferenceModel] = [bert, roberta, gpt2, gpt2Cache]
}
