import Foundation
import Tokenizers

/// The `Tokenizers` module's tokenizer is the pipelines' `TextEncoder`. Pipelines pad batches
/// themselves, so encoding here ignores the tokenizer's own padding (MiniLM's tokenizer.json pads to
/// 128) and keeps its truncation.
extension Tokenizer: TextEncoder {
    public func encodeText(_ text: String, pair: String?) throws -> (ids: [Int], typeIds: [Int]) {
        var unpadded = self
        unpadded.padding = nil
        let encoding = try pair.map { second throws(TokenizerError) in try unpadded.encodePair(text, second) } ?? unpadded.encode(text)
        return (encoding.ids, encoding.typeIds)
    }

    public func decodeIds(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        decode(ids, skipSpecialTokens: skipSpecialTokens)
    }

    public func tokenId(for token: String) -> Int? { id(for: token) }
}

/// Loads the tokenizer of a checkpoint directory (tokenizer.json, vocab.txt, vocab.json + merges.txt,
/// Marian's source.spm + vocab.json, or a SentencePiece model such as T5's spiece.model); nil when it
/// has none of them. The default `TokenizerLoader` of `loadPretrained`.
public func loadTokenizer(directory: URL) throws -> (any TextEncoder)? {
    let names = ["tokenizer.json", "vocab.txt", "vocab.json", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "source.spm"]
    guard names.contains(where: { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }) else { return nil }
    return try Tokenizer.fromDirectory(directory.path)
}
