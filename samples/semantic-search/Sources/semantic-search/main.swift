// Semantic search with all-MiniLM-L6-v2 compiled ahead of time by tcompile and linked as a static
// library: embeds every document and query in one batch (mean pooling, L2 normalized), checks the
// embeddings against eager ones (`tcompile run --eager` on the same texts, cosine ≥ 0.9999, exit 1
// otherwise), and prints the best documents for each query by cosine similarity.
//
//   semantic-search LIB_DIR TOKENIZER_DIR DOCUMENTS.txt [--eager eager.safetensors] QUERY...
import Foundation
import Tokenizers
import minilm

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("semantic-search: \(message)\n".utf8))
    exit(1)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var eagerPath: String?
if let i = arguments.firstIndex(of: "--eager"), i + 1 < arguments.count {
    eagerPath = arguments[i + 1]
    arguments.removeSubrange(i...(i + 1))
}
guard arguments.count >= 4 else { fail("usage: semantic-search LIB_DIR TOKENIZER_DIR DOCUMENTS.txt [--eager eager.safetensors] QUERY...") }
let (library, tokenizerDirectory) = (arguments[0], arguments[1])
let documents = try String(contentsOfFile: arguments[2], encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
let queries = Array(arguments[3...])
let texts = documents + queries

// One batch, padded on the right to the longest text, as `tcompile run --text` pads.
var tokenizer = try Tokenizer.fromDirectory(tokenizerDirectory)
tokenizer.padding = nil
let encodings = try texts.map { try tokenizer.encode($0) }
let (batch, seq) = (texts.count, encodings.map(\.ids.count).max()!)
var ids = [Int64](repeating: 0, count: batch * seq), mask = ids, types = ids
for (row, e) in encodings.enumerated() {
    for (t, id) in e.ids.enumerated() { ids[row * seq + t] = Int64(id); mask[row * seq + t] = 1 }
}

// The compiled model: dims, inputs and outputs in the order minilm.h lists them.
var model: OpaquePointer?
var status = minilm_create(library + "/minilm.weights", &model)
guard status == MINILM_OK else { fail("create: \(String(cString: minilm_error_message(status)))") }
defer { minilm_destroy(model) }
var dims: [Int64] = [Int64(batch), Int64(seq)]                        // batch, seq
let hiddenSize = Int(minilm_output_elements(1, &dims)) / batch         // pooler_output: [batch, 384]
var hidden = [Float](repeating: 0, count: Int(minilm_output_elements(0, &dims)))
var pooler = [Float](repeating: 0, count: batch * hiddenSize)
let workspace = UnsafeMutableRawPointer.allocate(byteCount: minilm_workspace_size(), alignment: 64)
defer { workspace.deallocate() }
let start = Date()
status = ids.withUnsafeBufferPointer { i in mask.withUnsafeBufferPointer { m in types.withUnsafeBufferPointer { t in
    hidden.withUnsafeMutableBufferPointer { h in pooler.withUnsafeMutableBufferPointer { p in
        let inputs: [UnsafeRawPointer?] = [UnsafeRawPointer(i.baseAddress), UnsafeRawPointer(m.baseAddress), UnsafeRawPointer(t.baseAddress)]
        let outputs: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(h.baseAddress), UnsafeMutableRawPointer(p.baseAddress)]
        return minilm_run(model, dims, inputs, outputs, workspace)
    } }
} } }
guard status == MINILM_OK else { fail("run: \(String(cString: minilm_error_message(status)))") }
let milliseconds = Date().timeIntervalSince(start) * 1000

/// Sentence embeddings from `[batch, seq, hidden]` states: the mean over real tokens, L2 normalized.
func sentenceEmbeddings(_ states: [Float]) -> [[Float]] {
    (0..<batch).map { row in
        let tokens = encodings[row].ids.count
        var v = (0..<hiddenSize).map { j in (0..<tokens).reduce(Float(0)) { $0 + states[(row * seq + $1) * hiddenSize + j] } / Float(tokens) }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        v = v.map { $0 / norm }
        return v
    }
}
func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }   // unit vectors

let embeddings = sentenceEmbeddings(hidden)
print(String(format: "embedded %d documents and %d queries (%d×%d tokens) with the compiled model in %.1f ms (one call, the first)",
             documents.count, queries.count, batch, seq, milliseconds))

if let eagerPath {
    let eager = sentenceEmbeddings(try readSafeTensor(path: eagerPath, name: "last_hidden_state", count: hidden.count))
    let worst = zip(embeddings, eager).map { cosine($0, $1) }.min()!
    let ok = worst >= 0.9999
    print(String(format: "compiled vs eager embeddings: lowest cosine %.7f over %d texts (threshold 0.9999): %@", worst, batch, ok ? "equal" : "DIFFERENT"))
    if !ok { exit(1) }
}

for (q, query) in queries.enumerated() {
    let scores = documents.indices.map { (index: $0, score: cosine(embeddings[documents.count + q], embeddings[$0])) }
    print("\nquery: \(query)")
    for best in scores.sorted(by: { $0.score > $1.score }).prefix(3) {
        print(String(format: "  %.3f  %@", best.score, documents[best.index]))
    }
}

/// Reads one F32 tensor of `count` values from a safetensors file: an 8-byte little-endian header
/// length, a JSON header mapping names to `{"dtype", "shape", "data_offsets": [begin, end]}`, the data.
func readSafeTensor(path: String, name: String, count: Int) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard data.count >= 8 else { fail("\(path): not a safetensors file") }
    let headerSize = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    guard let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerSize))) as? [String: Any],
          let entry = header[name] as? [String: Any], entry["dtype"] as? String == "F32",
          let offsets = entry["data_offsets"] as? [Int], offsets.count == 2, offsets[1] - offsets[0] == count * 4 else {
        fail("\(path): no F32 tensor '\(name)' of \(count) values")
    }
    let bytes = data.subdata(in: (8 + headerSize + offsets[0])..<(8 + headerSize + offsets[1]))
    return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}
