import FuzzSupport
@testable import Tokenizers

/// The real all-MiniLM-L6-v2 WordPiece tokenizer (fetched by scripts/fetch-minilm.sh), or the shipped
/// classifier's when that is absent.
let wordPiece: Tokenizer = {
    for path in [repositoryRoot + "/.models/all-MiniLM-L6-v2/tokenizer.json", repositoryRoot + "/samples/classify/model/tokenizer.json"] {
        if let t = try? Tokenizer.fromFile(path) { return t }
    }
    fatalError("no WordPiece tokenizer under \(repositoryRoot) (set TCOMPILE_ROOT to the repository)")
}()

/// Encodes arbitrary bytes (invalid UTF-8 becomes U+FFFD, as reading a file would) alone and as a
/// pair, then decodes the ids: every id must be in the vocabulary and nothing may crash.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzWordPiece(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    let text = String(decoding: input, as: UTF8.self)
    guard let encoding = try? wordPiece.encode(text) else { return 0 }
    for id in encoding.ids { precondition(id >= 0 && id < wordPiece.vocabularySize, "id \(id) outside the vocabulary") }
    _ = wordPiece.decode(encoding.ids)
    let half = input.count / 2
    _ = try? wordPiece.encodePair(String(decoding: input[..<half], as: UTF8.self), String(decoding: input[half...], as: UTF8.self))
    return 0
}

/// The program's entry point (see FuzzSupport.runFuzzer).
@_cdecl("fuzz_wordpiece_main")
func fuzzWordPieceMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    for tokenizer in [wordPiece] {
        switch tokenizer.core.model {
        case .bpe(let m): keptAlive.append(m)
        case .wordPiece(let m): keptAlive.append(m)
        case .unigram(let m): keptAlive.append(m)
        case .sentencePiece(let m): keptAlive.append(m)
        case .marian(let m): keptAlive.append(m)
        }
    }
    return runFuzzer(argc, argv, fuzzWordPiece)
}
