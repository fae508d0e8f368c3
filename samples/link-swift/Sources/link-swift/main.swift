// Embeds a sentence with all-MiniLM-L6-v2 compiled by tcompile and linked as a static library, and,
// given the eager outputs (`tcompile run --eager … -o eager.safetensors`), checks that the compiled
// last_hidden_state equals them within 1e-4 (exit 1 if not).
//
//   link-swift LIB_DIR TOKENIZER_DIR "text" [--expect eager.safetensors]
import Foundation
import Tokenizers
import minilm

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("link-swift: \(message)\n".utf8))
    exit(1)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var expect: String?
if let i = arguments.firstIndex(of: "--expect"), i + 1 < arguments.count {
    expect = arguments[i + 1]
    arguments.removeSubrange(i...(i + 1))
}
guard arguments.count == 3 else { fail("usage: link-swift LIB_DIR TOKENIZER_DIR \"text\" [--expect eager.safetensors]") }
let (library, tokenizerDirectory, text) = (arguments[0], arguments[1], arguments[2])

// Token ids from the checkpoint's tokenizer, unpadded: every position is a real token.
var tokenizer = try Tokenizer.fromDirectory(tokenizerDirectory)
tokenizer.padding = nil
let encoding = try tokenizer.encode(text)
let seq = encoding.ids.count
let ids = encoding.ids.map(Int64.init), mask = [Int64](repeating: 1, count: seq), types = [Int64](repeating: 0, count: seq)

// The compiled model's C API, as declared in minilm.h.
var model: OpaquePointer?
var status = minilm_create(library + "/minilm.weights", &model)
guard status == MINILM_OK else { fail("create: \(String(cString: minilm_error_message(status)))") }
defer { minilm_destroy(model) }
var dims: [Int64] = [Int64(seq)]                                      // seq (batch is 1; see minilm.h)
let hiddenSize = Int(minilm_output_elements(1, &dims))                // pooler_output: [1, 384]
var hidden = [Float](repeating: 0, count: Int(minilm_output_elements(0, &dims)))
var pooled = [Float](repeating: 0, count: hiddenSize)
let workspace = UnsafeMutableRawPointer.allocate(byteCount: minilm_workspace_size(), alignment: 64)
defer { workspace.deallocate() }
status = ids.withUnsafeBufferPointer { i in mask.withUnsafeBufferPointer { m in types.withUnsafeBufferPointer { t in
    hidden.withUnsafeMutableBufferPointer { h in pooled.withUnsafeMutableBufferPointer { p in
        let inputs: [UnsafeRawPointer?] = [UnsafeRawPointer(i.baseAddress), UnsafeRawPointer(m.baseAddress), UnsafeRawPointer(t.baseAddress)]
        let outputs: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(h.baseAddress), UnsafeMutableRawPointer(p.baseAddress)]
        return minilm_run(model, dims, inputs, outputs, workspace)
    } }
} } }
guard status == MINILM_OK else { fail("run: \(String(cString: minilm_error_message(status)))") }

// Sentence embedding: the mean of the token vectors, L2 normalized (sentence-transformers' recipe).
var embedding = (0..<hiddenSize).map { j in (0..<seq).reduce(Float(0)) { $0 + hidden[$1 * hiddenSize + j] } / Float(seq) }
let norm = embedding.reduce(0) { $0 + $1 * $1 }.squareRoot()
embedding = embedding.map { $0 / norm }
print("\"\(text)\" → \(seq) tokens")
print("embedding (\(hiddenSize) dims): " + embedding.prefix(8).map { String(format: "%.5f", $0) }.joined(separator: " ") + " ...")

if let expect {
    let eager = try readSafeTensor(path: expect, name: "last_hidden_state")
    guard eager.count == hidden.count else { fail("\(expect): last_hidden_state has \(eager.count) values, expected \(hidden.count)") }
    let worst = zip(eager, hidden).map { abs($0 - $1) }.max() ?? 0
    let equal = worst <= 1e-4
    print(String(format: "compiled vs eager last_hidden_state: max |difference| %.2e over %d values (tolerance 1e-4): %@",
                 worst, hidden.count, equal ? "equal" : "DIFFERENT"))
    if !equal { exit(1) }
}

/// Reads one F32 tensor from a safetensors file: an 8-byte little-endian header length, a JSON
/// header mapping names to `{"dtype", "shape", "data_offsets": [begin, end]}`, then the data.
func readSafeTensor(path: String, name: String) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard data.count >= 8 else { fail("\(path): not a safetensors file") }
    let headerSize = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    guard let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerSize))) as? [String: Any],
          let entry = header[name] as? [String: Any], entry["dtype"] as? String == "F32",
          let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else { fail("\(path): no F32 tensor '\(name)'") }
    let bytes = data.subdata(in: (8 + headerSize + offsets[0])..<(8 + headerSize + offsets[1]))
    return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}
