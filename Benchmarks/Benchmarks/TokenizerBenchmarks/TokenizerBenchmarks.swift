// package-benchmark suite for the Tokenizers module: encoding the fixture corpus (2,400 lines) with the
// MiniLM WordPiece tokenizer and the byte-level BPE, one thread. Throughput is reported per corpus pass;
// run-tokenizers.sh gives MB/s against HF tokenizers in the same run.
import Benchmark
import Foundation
import Tokenizers

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path
let fixtures = root + "/Tests/TokenizersTests/Fixtures"

struct Corpus: Decodable { let lines: [String] }

func corpus() -> [String] {
    (try? JSONDecoder().decode(Corpus.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/corpus.json"))).lines) ?? []
}

let benchmarks: @Sendable () -> Void = {
    let lines = corpus()
    let configuration = Benchmark.Configuration(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                                maxDuration: .seconds(3))
    Benchmark("WordPiece MiniLM corpus", configuration: configuration) { benchmark in
        var tokenizer = try Tokenizer.fromFile(root + "/.models/all-MiniLM-L6-v2/tokenizer.json")
        tokenizer.padding = nil
        tokenizer.truncation = nil
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try tokenizer.encodeBatch(lines)) }
    }
    Benchmark("Byte-level BPE corpus", configuration: configuration) { benchmark in
        let tokenizer = try Tokenizer.fromFile(fixtures + "/bpe/gpt2/tokenizer.json")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try tokenizer.encodeBatch(lines)) }
    }
}
