// Marian's tokenizer (transformers' `MarianTokenizer`): there is no tokenizer.json; a checkpoint ships
// two SentencePiece models (`source.spm`, `target.spm`) and `vocab.json`, whose ids are not the
// SentencePiece models' own.
import Foundation
import JSON

/// The source SentencePiece model's segmentation with each piece mapped through `vocab.json`
/// (`MarianTokenizer._convert_token_to_id`): a known piece by its spelling, an unknown span by its
/// text if vocab.json has it, else `<unk>`.
final class MarianVocabulary: Sendable {
    let processor: SentencePieceProcessor
    /// vocab.json's id of each SentencePiece id (`unknownId` for a piece vocab.json lacks).
    let remap: [Int]
    let vocabulary: [String: Int]
    let unknownId: Int

    init(processor: SentencePieceProcessor, vocabulary: [String: Int], unknownId: Int) {
        self.processor = processor
        self.vocabulary = vocabulary
        self.unknownId = unknownId
        var remap = [Int](repeating: unknownId, count: (processor.vocabulary.values.max() ?? -1) + 1)
        for (piece, id) in processor.vocabulary { remap[id] = vocabulary[piece] ?? unknownId }
        self.remap = remap
    }

    /// Tokens of `p[lo..<hi]` with vocab.json's ids.
    func tokenize(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int, _ normalized: inout NormalizedText,
                  into tokens: inout TokenList) {
        let first = tokens.count, firstMatched = tokens.matchedTexts.count
        processor.tokenize(p, lo, hi, &normalized, into: &tokens)
        var unknownTexts: [Int: String] = [:]
        for (index, text) in tokens.matchedTexts[firstMatched...] { unknownTexts[index] = text }
        for k in first..<tokens.count {
            let id = tokens.ids[k]
            if id == processor.unknownId, let text = unknownTexts[k] {
                tokens.ids[k] = vocabulary[text] ?? unknownId
            } else {
                tokens.ids[k] = id >= 0 && id < remap.count ? remap[id] : unknownId
            }
        }
    }
}

extension Tokenizer {
    /// Marian's tokenizer from a checkpoint directory with `source.spm`, `target.spm` and `vocab.json`
    /// (and optionally `tokenizer_config.json`'s `eos_token`, `unk_token`, `pad_token`): encoding is the
    /// source model's segmentation mapped through vocab.json, then `</s>`; vocab.json's `>>xx<<`
    /// language codes match as added tokens. Decoding maps ids to vocab.json's pieces and joins them as
    /// SentencePiece does, with the source model, as transformers 5 does when source and target share
    /// vocab.json (`separate_vocabs`, two vocabularies, is refused).
    ///
    /// ```swift
    /// let tokenizer = try Tokenizer.fromMarianDirectory("opus-mt-en-fr")
    /// let ids = try tokenizer.encode("Hello world").ids     // … 0 (</s>)
    /// ```
    public static func fromMarianDirectory(_ path: String) throws(TokenizerError) -> Tokenizer {
        let directory = path.hasSuffix("/") ? path : path + "/"
        let sourceFile = directory + "source.spm"
        let source = try SentencePieceProcessor(try SentencePieceModelProto(try readFile(sourceFile), file: sourceFile), file: sourceFile)
        let vocabulary = try JSONField(parsing: try readFile(directory + "vocab.json"), file: "vocab.json").vocabulary()
        var config = JSONField(JSONReader(.object([]), file: "tokenizer_config.json"))
        if FileManager.default.fileExists(atPath: directory + "tokenizer_config.json") {
            config = try JSONField(parsing: try readFile(directory + "tokenizer_config.json"), file: "tokenizer_config.json")
        }
        if try config.optionalBool("separate_vocabs", default: false) {
            throw .unsupported(file: "tokenizer_config.json", component: "separate_vocabs", detail: "true (a target vocabulary of its own) is not supported")
        }
        func special(_ field: String, _ fallback: String) throws(TokenizerError) -> AddedToken {
            let content = try config.optionalString(field) ?? fallback
            guard let id = vocabulary[content] else { throw .unknownToken(file: "vocab.json", field: field, token: content) }
            return AddedToken(content: content, id: id)
        }
        let eos = try special("eos_token", "</s>"), unknown = try special("unk_token", "<unk>"), pad = try special("pad_token", "<pad>")
        let codes = vocabulary.filter { $0.key.hasPrefix(">>") && $0.key.hasSuffix("<<") && $0.key.count > 4 }
            .sorted { $0.value < $1.value }.map { AddedToken(content: $0.key, id: $0.value, special: false) }
        let suffix = TemplateItem(kind: .special(ids: [eos.id], tokens: [eos.content]), typeId: 0)
        return Tokenizer(core: TokenizerCore(
            normalizer: nil, preTokenizer: .none,
            model: .marian(MarianVocabulary(processor: source, vocabulary: vocabulary, unknownId: unknown.id)),
            vocabulary: vocabulary, addedTokens: [eos, unknown, pad] + codes,
            postProcessor: .template(single: [TemplateItem(kind: .sequence(0), typeId: 0), suffix],
                                     pair: [TemplateItem(kind: .sequence(0), typeId: 0), TemplateItem(kind: .sequence(1), typeId: 0), suffix]),
            decoder: .sentencePiece(source)))
    }
}
