// Measures single-thread encoding throughput (MB/s of UTF-8 input) of one tokenizer on the fixture corpus
// and prints it as one JSON line. Usage: TokenizerThroughput wordpiece|bpe REPO_ROOT [passes]
import Foundation
import Tokenizers

let arguments = CommandLine.arguments
guard arguments.count >= 3, ["wordpiece", "bpe"].contains(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: TokenizerThroughput wordpiece|bpe REPO_ROOT [passes]\n".utf8))
    exit(2)
}
let root = arguments[2]
let passes = arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5
let fixtures = root + "/Tests/TokenizersTests/Fixtures"

struct Corpus: Decodable { let lines: [String] }
let lines = try JSONDecoder().decode(Corpus.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/corpus.json"))).lines
let bytes = lines.reduce(0) { $0 + $1.utf8.count }

func load() -> Tokenizer {
    do {
        var tokenizer = arguments[1] == "wordpiece"
        ? try Tokenizer.fromFile(root + "/.models/all-MiniLM-L6-v2/tokenizer.json")
            : try Tokenizer.fromFile(fixtures + "/bpe/gpt2/tokenizer.json")
        tokenizer.truncation = nil
        tokenizer.padding = nil
        return tokenizer
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(1)
    }
}
let tokenizer = load()

let repeats = 10
// One pass encodes the corpus `repeats` times so that a pass lasts long enough to time.
func pass(_ tokenizer: Tokenizer, _ lines: [String]) throws -> (seconds: Double, tokens: Int) {
    let clock = ContinuousClock()
    var tokens = 0
    let elapsed = try clock.measure {
        for _ in 0..<repeats {
            for encoding in try tokenizer.encodeBatch(lines) { tokens += encoding.count }
        }
    }
    let c = elapsed.components
    return (Double(c.seconds) + Double(c.attoseconds) * 1e-18, tokens)
}

_ = try pass(tokenizer, lines)  // warm-up (caches, page faults)
var speeds: [Double] = []
var tokens = 0
for _ in 0..<passes {
    let (seconds, t) = try pass(tokenizer, lines)
    tokens = t
    speeds.append(Double(bytes * repeats) / seconds / 1e6)
}
speeds.sort()
let median = speeds[speeds.count / 2]
print("{\"impl\": \"tcompile\", \"tokenizer\": \"\(arguments[1])\", \"mb_per_s\": \(median), \"passes\": \(speeds), \"bytes\": \(bytes * repeats), \"tokens\": \(tokens)}")
