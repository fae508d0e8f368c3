import Foundation
import Testing
import NN
import Tensors
@testable import Transformers

/// BART and T5 training: the loss from labels is transformers' (Seq2SeqFamiliesTests, T5Tests), and
/// its gradients with respect to parameters on both sides agree with central finite differences.
@Suite struct Seq2SeqTrainingTests {
    @Test func bartGradientsMatchFiniteDifferences() throws {
        let e = try expected("bart-lm")
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("bart-lm"))
        model.eval()     // dropout off, gradients on: `forward` records them
        let inputs = Seq2SeqInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"))
        let labels = try e.tensor("labels")
        func loss() -> Tensor { model.forward(inputs, labels: labels).loss ?? Tensor(Float.nan) }
        let loss0 = loss()
        expectClose(loss0, try e.tensor("loss"), 1e-5, "loss with gradients")
        loss0.backward()

        let parameters = Dictionary(model.namedParameters(), uniquingKeysWith: { a, _ in a })
        // (parameter, flat index): the shared table (tied head and both sides' embeddings), an encoder
        // feed-forward weight (reached through cross-attention only), the decoder's cross-attention
        // keys, a LayerNorm bias, a learned position.
        let probes = [("model.shared.weight", 5 * 36 + 3), ("model.shared.weight", 69 * 36 + 11),
                      ("model.encoder.layers.0.fc1.weight", 2 * 36 + 7),
                      ("model.decoder.layers.1.encoder_attn.k_proj.weight", 4 * 36 + 1),
                      ("model.encoder.layers.1.final_layer_norm.bias", 17),
                      ("model.decoder.embed_positions.weight", 3 * 36 + 20)]
        let eps: Float = 1e-2
        for (name, index) in probes {
            let p = try #require(parameters[name], "\(name)")
            let analytic = try #require(p.grad, "\(name) has no gradient").toFloatArray()[index]
            let values = p.pointer(as: Float.self)
            let saved = values[index]
            values[index] = saved + eps
            let up = withNoGrad { loss().item() }
            values[index] = saved - eps
            let down = withNoGrad { loss().item() }
            values[index] = saved
            let numeric = (up - down) / (2 * eps)
            #expect(Swift.abs(analytic - numeric) <= 2e-3 + 2e-2 * Swift.abs(numeric), "\(name)[\(index)]: autograd \(analytic), finite differences \(numeric)")
        }
    }

    /// T5 v1.1: the relative-position tables, the gated feed-forward and an RMS norm weight.
    @Test func t5GradientsMatchFiniteDifferences() throws {
        let e = try expected("t5-v1_1")
        let model = try T5ForConditionalGeneration.fromPretrained(directory: fixtureDirectory("t5-v1_1"))
        model.eval()
        let inputs = Seq2SeqInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"))
        let labels = try e.tensor("labels")
        func loss() -> Tensor { model.forward(inputs, labels: labels).loss ?? Tensor(Float.nan) }
        let loss0 = loss()
        expectClose(loss0, try e.tensor("loss"), 1e-5, "loss with gradients")
        loss0.backward()
        let parameters = Dictionary(model.namedParameters(), uniquingKeysWith: { a, _ in a })
        let probes = [("shared.weight", 7 * 36 + 5), ("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", 2 * 4 + 1),
                      ("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", 1 * 4 + 3),
                      ("encoder.block.1.layer.1.DenseReluDense.wi_0.weight", 3 * 36 + 2),
                      ("decoder.block.0.layer.1.EncDecAttention.v.weight", 5 * 36 + 9),
                      ("encoder.final_layer_norm.weight", 11)]
        let eps: Float = 1e-2
        for (name, index) in probes {
            let p = try #require(parameters[name], "\(name)")
            let analytic = try #require(p.grad, "\(name) has no gradient").toFloatArray()[index]
            let values = p.pointer(as: Float.self)
            let saved = values[index]
            values[index] = saved + eps
            let up = withNoGrad { loss().item() }
            values[index] = saved - eps
            let down = withNoGrad { loss().item() }
            values[index] = saved
            let numeric = (up - down) / (2 * eps)
            #expect(Swift.abs(analytic - numeric) <= 2e-3 + 2e-2 * Swift.abs(numeric), "\(name)[\(index)]: autograd \(analytic), finite differences \(numeric)")
        }
    }

    /// A few AdamW steps on one batch lower the loss (training mode, dropout on, through the
    /// validating entry point).
    @Test func trainingStepsLowerTheLoss() throws {
        let e = try expected("bart-scaled")
        let model = try BartForConditionalGeneration.fromPretrained(directory: fixtureDirectory("bart-scaled"))
        model.train()
        let inputs = Seq2SeqInputs(inputIds: try e.tensor("input_ids"), attentionMask: try e.tensor("attention_mask"))
        let labels = try e.tensor("labels")
        let optimizer = AdamW(parameters: model.namedParameters(), learningRate: 1e-2)
        var losses: [Float] = []
        for _ in 0..<5 {
            let loss = try #require(try model(inputs, labels: labels).loss)
            losses.append(loss.item())
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        }
        model.eval()
        let after = try #require(try model(inputs, labels: labels).loss).item()
        #expect(after < losses[0] - 0.5, "losses \(losses), after \(after)")
    }
}
