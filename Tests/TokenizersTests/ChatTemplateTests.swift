import Foundation
import Testing
@testable import Tokenizers

/// Chat templates against `apply_chat_template` (`scripts/fixtures/decoder_tokenizers_fixtures.py`):
/// Qwen2's ChatML, plain ChatML, Llama 3 and Mistral [INST], with and without the generation prompt,
/// including the conversations Mistral's template refuses.
@Suite struct ChatTemplateTests {
    struct Fixture: Decodable {
        struct Message: Decodable { let role: String; let content: String }
        struct Rendered: Decodable {
            let messages: [Message]
            let add_generation_prompt: Bool
            let text: String?
            let error: String?
        }
        struct Template: Decodable {
            let name: String
            let chat_template: String
            let bos_token: String?
            let eos_token: String?
            let rendered: [Rendered]
        }
        let templates: [Template]
    }

    static let fixture = try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("chat-templates.json"))))

    @Test func renderingMatchesTransformers() throws {
        #expect(Self.fixture.templates.map(\.name) == ["chatml", "chatml-plain", "llama3", "mistral"])
        for t in Self.fixture.templates {
            let template = try ChatTemplate(template: t.chat_template, bosToken: t.bos_token, eosToken: t.eos_token)
            for r in t.rendered {
                let messages = r.messages.map { ChatMessage(role: $0.role, content: $0.content) }
                if let text = r.text {
                    #expect(try template.apply(messages, addGenerationPrompt: r.add_generation_prompt) == text, "\(t.name)")
                } else {
                    #expect { _ = try template.apply(messages, addGenerationPrompt: r.add_generation_prompt) } throws: {
                        "\($0)".contains(r.error ?? "?")
                    }
                }
            }
        }
        let qwen = try ChatTemplate(template: Self.fixture.templates[0].chat_template, bosToken: nil, eosToken: nil)
        #expect(qwen.kind == .chatML(defaultSystem: "You are a helpful assistant."))
    }

    /// The same templates spelled with whitespace control and line breaks between tags, as some
    /// tokenizer_config.json files format them, are recognized too.
    @Test func formattingIsNormalized() throws {
        let llama3 = Self.fixture.templates[2].chat_template
            .replacingOccurrences(of: "{% ", with: "{%- ").replacingOccurrences(of: "%}", with: "-%}\n    ")
        #expect(try ChatTemplate(template: llama3, bosToken: "<s>", eosToken: nil).kind == .llama3)
    }

    @Test func unknownTemplatesAreNamed() throws {
        let other = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
        #expect { _ = try ChatTemplate(template: other, bosToken: nil, eosToken: nil) } throws: {
            "\($0)".contains("chat_template") && "\($0)".contains("<|{{ m.role }}|>")
        }
    }

    @Test func fromDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chat-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = Self.fixture.templates[3]
        let config: [String: Any] = ["chat_template": t.chat_template, "bos_token": ["content": "<s>", "special": true], "eos_token": "</s>"]
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let template = try ChatTemplate.fromDirectory(dir.path)
        #expect(template.kind == .mistralInstruct && template.bosToken == "<s>" && template.eosToken == "</s>")
        // chat_template.jinja wins over the config's field.
        try Self.fixture.templates[1].chat_template.write(to: dir.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        #expect(try ChatTemplate.fromDirectory(dir.path).kind == .chatML(defaultSystem: nil))
    }
}
