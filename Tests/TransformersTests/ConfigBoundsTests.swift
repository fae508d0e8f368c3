import Foundation
import Testing
@testable import Transformers

/// Sizes in a config.json are untrusted: a config whose model could never be built (more than 2^36
/// parameters, sizes whose products overflow Int) is an error naming the sizes, so building the model
/// never traps on an overflowing shape.
@Suite struct ConfigBoundsTests {
    static func decodeFails<C: PretrainedConfig>(_ type: C.Type, _ json: String) -> String? {
        do { _ = try C.decode(Data(json.utf8)); return nil } catch { return "\(error)" }
    }

    @Test(arguments: [
        #"{"model_type": "bert", "vocab_size": 4611686018427387904}"#,
        #"{"model_type": "bert", "hidden_size": 3037000500, "num_attention_heads": 1}"#,
        #"{"model_type": "bert", "max_position_embeddings": 9223372036854775807}"#,
        #"{"model_type": "bert", "num_hidden_layers": 1000000000}"#,
        #"{"model_type": "bert", "intermediate_size": 9223372036854775807}"#,
    ])
    func bertSizesBeyondAnyModelAreErrors(_ json: String) {
        let message = Self.decodeFails(BertConfig.self, json)
        #expect(message?.contains("2^36 parameters") == true, "\(message ?? "decoded")")
        #expect(Self.decodeFails(RobertaConfig.self, json.replacingOccurrences(of: "\"bert\"", with: "\"roberta\""))?.contains("2^36") == true)
    }

    @Test func gpt2SizesBeyondAnyModelAreErrors() {
        for json in [#"{"model_type": "gpt2", "n_embd": 4611686018427387904, "n_head": 1}"#,
                     #"{"model_type": "gpt2", "n_positions": 9223372036854775807}"#,
                     #"{"model_type": "gpt2", "n_embd": 2305843009213693952, "n_head": 1, "n_inner": 1}"#] {
            let message = Self.decodeFails(GPT2Config.self, json)
            #expect(message?.contains("2^36 parameters") == true, "\(json): \(message ?? "decoded")")
        }
    }

    /// Issue #21: tiny layers passed the parameter bound in any number, and tracing 10^9 of them
    /// would never finish.
    @Test func tooManyLayersIsAnError() {
        let bert = Self.decodeFails(BertConfig.self, #"{"model_type": "bert", "hidden_size": 2, "num_attention_heads": 1, "intermediate_size": 2, "num_hidden_layers": 1000000000}"#)
        #expect(bert?.contains("describe 1000000000 layers, more than the 1024 a model may have") == true, "\(bert ?? "decoded")")
        let gpt2 = Self.decodeFails(GPT2Config.self, #"{"model_type": "gpt2", "n_embd": 2, "n_head": 1, "n_layer": 5000}"#)
        #expect(gpt2?.contains("more than the 1024") == true, "\(gpt2 ?? "decoded")")
        #expect(Self.decodeFails(BertConfig.self, #"{"model_type": "bert", "hidden_size": 2, "num_attention_heads": 1, "num_hidden_layers": 1024}"#) == nil)
    }

    @Test func tooManyLabelsIsAnError() {
        let message = Self.decodeFails(BertConfig.self, #"{"model_type": "bert", "num_labels": 1099511627776}"#)
        #expect(message?.contains("num_labels") == true, "\(message ?? "decoded")")
    }

    /// Issue #21: `"1"` and `"01"` are one class to Python's `int()`; the last one silently won there
    /// and here `labels` ignored `"01"` while `num_labels` counted it.
    @Test func id2labelKeysNameEachClassOnce() throws {
        let twice = Self.decodeFails(BertConfig.self, #"{"model_type": "bert", "id2label": {"0": "neg", "1": "pos", "01": "also pos"}}"#)
        #expect(twice?.contains("field 'id2label' has the keys '01' and '1', both class 1") == true, "\(twice ?? "decoded")")
        let word = Self.decodeFails(BertConfig.self, #"{"model_type": "bert", "id2label": {"0": "neg", "one": "pos"}}"#)
        #expect(word?.contains("has the key 'one', which is not an integer") == true, "\(word ?? "decoded")")
        let gap = Self.decodeFails(BertConfig.self, #"{"model_type": "bert", "id2label": {"0": "neg", "2": "pos"}}"#)
        #expect(gap?.contains("has the key '2'; with 2 labels the classes are 0...1") == true, "\(gap ?? "decoded")")
        let padded = try BertConfig.decode(Data(#"{"model_type": "bert", "id2label": {"00": "neg", "01": "pos"}}"#.utf8))
        #expect(padded.common.labels == ["neg", "pos"])
    }

    @Test func realSizesStillDecode() throws {
        // bert-large-like and gpt2-xl-like sizes are far inside the bound.
        let bert = try BertConfig.decode(Data(#"{"model_type": "bert", "vocab_size": 30522, "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}"#.utf8))
        #expect(bert.hiddenSize == 1024)
        let gpt2 = try GPT2Config.decode(Data(#"{"model_type": "gpt2", "n_embd": 1600, "n_layer": 48, "n_head": 25}"#.utf8))
        #expect(gpt2.innerSize == 6400)
    }
}
