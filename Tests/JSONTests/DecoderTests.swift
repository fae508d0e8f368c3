import Testing
import JSON

/// `JSONValueDecoder`: Codable structs decoded through the hardened parser, with paths in errors.
struct DecoderTests {
    struct Config: Decodable, Equatable {
        var hiddenSize: Int
        var eps: Double
        var dropout: Float?
        var act: String
        var labels: [String: String]?
        var layers: [Layer]
        struct Layer: Decodable, Equatable { var width: Int8 }
        enum CodingKeys: String, CodingKey {
            case hiddenSize = "hidden_size", eps = "layer_norm_eps", dropout, act = "hidden_act", labels = "id2label", layers
        }
    }

    static func decode(_ text: String) throws(JSONError) -> Config {
        try JSONReader(parsing: Array(text.utf8), file: "config.json").decode(Config.self)
    }

    static func message(_ text: String) -> String? {
        do { _ = try decode(text); return nil } catch { return error.description }
    }

    @Test func decodesNestedValues() throws {
        let c = try Self.decode(#"{"hidden_size": 384, "layer_norm_eps": 1e-12, "dropout": 0, "hidden_act": "gelu", "id2label": {"0": "NEG"}, "layers": [{"width": 4}]}"#)
        #expect(c == Config(hiddenSize: 384, eps: 1e-12, dropout: 0, act: "gelu", labels: ["0": "NEG"], layers: [.init(width: 4)]))
        let nulls = try Self.decode(#"{"hidden_size": 1, "layer_norm_eps": 1, "dropout": null, "hidden_act": "relu", "layers": []}"#)
        #expect(nulls.dropout == nil && nulls.labels == nil)
    }

    @Test func errorsNameTheField() {
        let base = #""layer_norm_eps": 1e-12, "hidden_act": "gelu", "layers": [{"width": 4}]"#
        #expect(Self.message(#"{"hidden_size": "abc", \#(base)}"#) == #"config.json: hidden_size: must be an integer, got "abc""#)
        #expect(Self.message(#"{"hidden_size": 384.0, \#(base)}"#) == "config.json: hidden_size: must be an integer, got 384.0")
        #expect(Self.message(#"{"hidden_size": true, \#(base)}"#) == "config.json: hidden_size: must be an integer, got true")
        #expect(Self.message(#"{\#(base)}"#) == "config.json: hidden_size: is missing")
        #expect(Self.message(#"{"hidden_size": 1, "layer_norm_eps": 1, "hidden_act": "gelu", "layers": [{"width": 4}, {"width": 300}]}"#)
                == "config.json: layers[1].width: must be an integer in -128...127, got 300")
        #expect(Self.message(#"{"hidden_size": 1, "layer_norm_eps": 1, "dropout": 1e300, "hidden_act": "gelu", "layers": []}"#)
                == "config.json: dropout: must be a number that fits Float, got 1e+300")
    }
}
