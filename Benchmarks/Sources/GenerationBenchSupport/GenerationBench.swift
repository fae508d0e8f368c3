// What the generation benchmarks (DecodeBench, Seq2SeqBench) share: their `--name value` options, the
// clock, the median of repeated timings, and the one JSON line each prints.
import Foundation

/// A generation benchmark's `--name value` command line.
public struct BenchOptions {
    private var values: [String: String] = [:]

    public init(arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        var iterator = arguments.makeIterator()
        while let key = iterator.next() { if key.hasPrefix("--"), let value = iterator.next() { values[String(key.dropFirst(2))] = value } }
    }

    /// The text of `--name`, or nil.
    public func string(_ name: String) -> String? { values[name] }

    /// `--name` as a positive integer, `fallback` when absent; anything else is an error naming it.
    public func int(_ name: String, _ fallback: Int) throws -> Int {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text), value >= 1 else { throw BenchError("--\(name) must be a positive integer, not \(text)") }
        return value
    }
}

/// A benchmark's refusal, printed as its message.
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Monotonic nanoseconds.
public func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Milliseconds since `start` (from `now()`).
public func milliseconds(since start: UInt64) -> Double { Double(now() - start) / 1e6 }

/// The median of `reps` timings of `body`, in milliseconds.
public func medianMilliseconds(reps: Int, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<max(1, reps) {
        let start = now()
        try body()
        samples.append(milliseconds(since: start))
    }
    return samples.sorted()[samples.count / 2]
}

/// Runs `body`, printing the fields it returns as one JSON line (sorted keys); an error goes to stderr,
/// prefixed with `program`, and exits 1.
public func runBenchmark(_ program: String, _ body: () throws -> [String: Any]) {
    do {
        let data = try JSONSerialization.data(withJSONObject: try body(), options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    } catch {
        FileHandle.standardError.write(Data("\(program): \(error)\n".utf8))
        exit(1)
    }
}
