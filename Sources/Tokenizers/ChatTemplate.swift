import FoundationEssentials
import JSON

/// One message of a conversation (`{"role": …, "content": …}`).
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Why a chat template could not be read or applied.
public enum ChatTemplateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The template is none of the ones this module renders (there is no general Jinja engine).
    case unrecognizedTemplate(file: String, excerpt: String)
    /// The template refuses the conversation, with the message its `raise_exception` gives.
    case rejectedConversation(template: String, reason: String)

    public var description: String {
        switch self {
        case let .unrecognizedTemplate(file, excerpt):
            return "\(file): chat_template \"\(excerpt)\" is not one TCompile can apply (supported: ChatML as Qwen2 uses it, Llama 3, Mistral [INST]; there is no general Jinja engine)"
        case let .rejectedConversation(template, reason):
            return "chat template \(template): \(reason)"
        }
    }
}

/// A chat template from `tokenizer_config.json`'s `chat_template` (or `chat_template.jinja`), when it is
/// one of the common ones: recognized by its normalized text and rendered as `apply_chat_template`
/// renders it (`tokenize=False`).
///
/// ```swift
/// let template = try ChatTemplate.fromDirectory("Qwen2-0.5B-Instruct")
/// let prompt = try template.apply([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
/// ```
public struct ChatTemplate: Sendable, Equatable {
    /// The templates this module renders.
    public enum Kind: Sendable, Equatable {
        /// `<|im_start|>role\ncontent<|im_end|>\n`, with a default system message first when the
        /// conversation has none (Qwen2-Instruct's "You are a helpful assistant.").
        case chatML(defaultSystem: String?)
        /// Meta-Llama-3-Instruct: headers, trimmed contents, `<|eot_id|>`, the BOS token first.
        case llama3
        /// Mistral-7B-Instruct: `[INST] … [/INST]` for users, contents and EOS for the assistant,
        /// alternating roles only.
        case mistralInstruct
    }

    public let kind: Kind
    /// `bos_token` (rendered empty when nil, as an undefined Jinja variable).
    public let bosToken: String?
    /// `eos_token`.
    public let eosToken: String?

    /// Recognizes `template`; an error naming the template (its start) when it is not a known one.
    public init(template: String, bosToken: String?, eosToken: String?, file: String = "tokenizer_config.json") throws(ChatTemplateError) {
        let text = ChatTemplate.normalized(template)
        if text == Known.llama3 {
            kind = .llama3
        } else if text == Known.mistral {
            kind = .mistralInstruct
        } else if text == Known.chatML {
            kind = .chatML(defaultSystem: nil)
        } else if text.hasPrefix(Known.chatMLSystem.prefix), text.hasSuffix(Known.chatMLSystem.suffix),
                  text.count > Known.chatMLSystem.prefix.count + Known.chatMLSystem.suffix.count {
            let system = String(text.dropFirst(Known.chatMLSystem.prefix.count).dropLast(Known.chatMLSystem.suffix.count))
            guard !system.contains("'") else { throw .unrecognizedTemplate(file: file, excerpt: ChatTemplate.excerpt(template)) }
            kind = .chatML(defaultSystem: system)
        } else {
            throw .unrecognizedTemplate(file: file, excerpt: ChatTemplate.excerpt(template))
        }
        self.bosToken = bosToken
        self.eosToken = eosToken
    }

    /// The template of a checkpoint directory: `chat_template.jinja` if present, else
    /// `tokenizer_config.json`'s `chat_template` (a string, or a list of `{name, template}` of which
    /// `default` is used), with its `bos_token` and `eos_token`.
    public static func fromDirectory(_ path: String) throws -> ChatTemplate {
        let directory = path.hasSuffix("/") ? path : path + "/"
        let configPath = directory + "tokenizer_config.json"
        // Both files through RegularFile: a FIFO or a device is an error, not a wait for a writer.
        let data: [UInt8]
        do { data = try RegularFile.read(configPath) } catch {
            throw TokenizerError.unreadableFile(path: configPath, reason: error.missing ? "no tokenizer_config.json" : error.reason)
        }
        let config = try JSONField(parsing: data, file: "tokenizer_config.json")
        func token(_ name: String) throws(TokenizerError) -> String? {
            guard let field = try config.optional(name), field.value != .null else { return nil }
            if let s = field.value.stringValue { return s }
            return try field.field("content").string()
        }
        let template: String, file: String
        let jinja: [UInt8]?
        do { jinja = try RegularFile.read(directory + "chat_template.jinja") } catch {
            guard error.missing else { throw TokenizerError.unreadableFile(path: directory + "chat_template.jinja", reason: error.reason) }
            jinja = nil
        }
        if let jinja {
            template = String(decoding: jinja, as: UTF8.self)
            file = "chat_template.jinja"
        } else {
            guard let field = try config.optional("chat_template") else {
                throw TokenizerError.missingField(file: "tokenizer_config.json", field: "chat_template")
            }
            if let s = field.value.stringValue {
                template = s
            } else {
                var found: String?
                for item in try field.array() where try item.field("name").string() == "default" {
                    found = try item.field("template").string()
                }
                guard let found else { throw field.invalid("lists no template named 'default'") }
                template = found
            }
            file = "tokenizer_config.json"
        }
        return try ChatTemplate(template: template, bosToken: try token("bos_token"), eosToken: try token("eos_token"), file: file)
    }

    /// The prompt text of `messages`, as `apply_chat_template(messages, tokenize=False,
    /// add_generation_prompt=…)` gives it; the template's own errors (Mistral's alternation) as
    /// `rejectedConversation`.
    public func apply(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws(ChatTemplateError) -> String {
        var out = ""
        switch kind {
        case let .chatML(defaultSystem):
            for (i, m) in messages.enumerated() {
                if i == 0, let defaultSystem, messages[0].role != "system" {
                    out += "<|im_start|>system\n" + defaultSystem + "<|im_end|>\n"
                }
                out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n"
            }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            for (i, m) in messages.enumerated() {
                if i == 0 { out += bosToken ?? "" }
                out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + ChatTemplate.pythonStrip(m.content) + "<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .mistralInstruct:
            out += bosToken ?? ""
            for (i, m) in messages.enumerated() {
                if (m.role == "user") != (i % 2 == 0) {
                    throw .rejectedConversation(template: "Mistral [INST]", reason: "Conversation roles must alternate user/assistant/user/assistant/...")
                }
                switch m.role {
                case "user": out += "[INST] " + m.content + " [/INST]"
                case "assistant": out += m.content + (eosToken ?? "")
                default: throw .rejectedConversation(template: "Mistral [INST]", reason: "Only user and assistant roles are supported!")
                }
            }
        }
        return out
    }

    // MARK: - Recognition

    /// The known templates, normalized.
    enum Known {
        static let chatML = normalized(#"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"#)
        /// Qwen2-Instruct's ChatML, split around its default system message.
        static let chatMLSystem: (prefix: String, suffix: String) = {
            let marker = "\u{1}SYSTEM\u{1}"
            let text = normalized(#"{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"# + marker
                + #"<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"#)
            let parts = text.components(separatedBy: marker)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }()
        static let llama3 = normalized(#"{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"#)
        static let mistral = normalized(#"{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"#)
    }

    /// The template's text for matching: whitespace outside string literals and Jinja's `-`
    /// whitespace-control marks removed, the `\n` escape inside literals read as a newline.
    static func normalized(_ template: String) -> String {
        var out = "", quote: Character?
        let characters = Array(template)
        var i = 0
        while i < characters.count {
            let c = characters[i]
            if let q = quote {
                if c == "\\", i + 1 < characters.count {
                    let next = characters[i + 1]
                    out.append(next == "n" ? "\n" : next == "t" ? "\t" : next)
                    i += 2
                    continue
                }
                if c == q {
                    quote = nil
                    out.append("'")
                } else {
                    out.append(c)
                }
            } else if c == "'" || c == "\"" {
                quote = c
                out.append("'")     // either quote spells the same literal
            } else if c == "-", out.hasSuffix("{%") || out.hasSuffix("{{") {
                // `{%-` / `{{-`: whitespace control
            } else if c == "-", i + 2 < characters.count, characters[i + 1] == "%" || characters[i + 1] == "}", characters[i + 2] == "}" {
                // `-%}` / `-}}`
            } else if !c.isWhitespace {
                out.append(c)
            }
            i += 1
        }
        return out
    }

    /// The start of a template for an error message.
    static func excerpt(_ template: String) -> String {
        let flat = template.replacingOccurrences(of: "\n", with: " ")
        return flat.count > 80 ? String(flat.prefix(80)) + "…" : flat
    }

    /// Python's `str.strip()` (Jinja's `trim`): whitespace as `str.isspace` has it.
    static func pythonStrip(_ s: String) -> String {
        func space(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace || (0x1C...0x1F).contains(u.value) }
        let scalars = Array(s.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !space($0) }), let last = scalars.lastIndex(where: { !space($0) }) else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[first...last])
        return String(view)
    }
}
