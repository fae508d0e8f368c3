import FuzzSupport
@testable import Tokenizers

/// The GPT-2- and RoBERTa-style byte-level BPE tokenizers of the Tokenizers test fixtures, without
/// truncation or padding.
let bpeTokenizers: [Tokenizer] = ["gpt2", "roberta"].map { name in
    let path = repositoryRoot + "/Tests/TokenizersTests/Fixtures/bpe/\(name)/tokenizer.json"
    do {
        var tokenizer = try Tokenizer.fromFile(path)
        tokenizer.truncation = nil
        tokenizer.padding = nil
        return tokenizer
    } catch {
        fatalError("\(error) (set TCOMPILE_ROOT to the repository)")
    }
}

/// Encodes arbitrary bytes with both tokenizers and decodes the ids. Byte-level BPE is lossless, so
/// for GPT-2 (no normalizer, no special tokens added) decoding must give back the text exactly.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzBPE(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    let text = String(decoding: input, as: UTF8.self)
    for (i, tokenizer) in bpeTokenizers.enumerated() {
        guard let encoding = try? tokenizer.encode(text, addSpecialTokens: false) else { continue }
        for id in encoding.ids { precondition(id >= 0 && id < tokenizer.vocabularySize, "id \(id) outside the vocabulary") }
        let decoded = tokenizer.decode(encoding.ids, skipSpecialTokens: false)
        if i == 0 { precondition(decoded == text, "GPT-2 round trip changed the text") }
        let half = input.count / 2
        _ = try? tokenizer.encodePair(String(decoding: input[..<half], as: UTF8.self), String(decoding: input[half...], as: UTF8.self))
    }
    return 0
}

/// The program's entry point (see FuzzSupport.runFuzzer).
@_cdecl("fuzz_bpe_main")
func fuzzBPEMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    for tokenizer in bpeTokenizers {
        switch tokenizer.core.model {
        case .bpe(let m): keptAlive.append(m)
        case .wordPiece(let m): keptAlive.append(m)
        case .unigram(let m): keptAlive.append(m)
        case .sentencePiece(let m): keptAlive.append(m)
        case .marian(let m): keptAlive.append(m)
        }
    }
    return runFuzzer(argc, argv, fuzzBPE)
}
