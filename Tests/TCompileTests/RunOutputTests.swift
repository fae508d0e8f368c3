import Foundation
import Testing
import TCompile

/// `tcompile run --text` decodes outputs for the model's task, as Hugging Face's pipelines do, and
/// `--json` prints the same as JSON (checked here against the fixtures of HF's pipelines).
@Suite(.serialized) struct RunOutputTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TransformersTests/Fixtures").standardized.path

    struct Document: Decodable {
        var task: String?
        var results: [Result]?
    }
    struct Result: Decodable {
        var text: String?
        var question: String?
        var entities: [Entity]?
        var answer: Answer?
        var masks: [[Candidate]]?
        var labels: [Scored]?
    }
    struct Entity: Decodable { var label: String; var start: Int; var end: Int; var word: String }
    struct Answer: Decodable { var answer: String; var start: Int; var end: Int }
    struct Candidate: Decodable { var token: String; var id: Int }
    struct Scored: Decodable { var label: String }

    func export(_ fixture: String, _ dir: String) throws -> String {
        let path = dir + "/\(fixture).json"
        let result = try CLITests.run(["export", Self.fixtures + "/" + fixture, "--max-batch", "2", "--max-seq", "32", "-o", path])
        #expect(result.status == 0, "\(result.output)")
        return path
    }

    func run(_ arguments: [String]) throws -> Document {
        let result = try CLITests.run(["run"] + arguments + ["--eager", "--json"])
        #expect(result.status == 0, "\(result.output)")
        return try JSONDecoder().decode(Document.self, from: Data(result.output.utf8))
    }

    @Test func tasksAreDecodedLikeThePipelines() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // token-classification: the entity spans of HF's pipeline with aggregation "simple".
        let ner = try run([try export("bert-ner", dir), "--tokenizer", Self.fixtures + "/bert-ner",
                           "--text", "John Smith lives in New York.", "--text", "Mary visited Paris and London."])
        #expect(ner.task == "token-classification")
        let firstSpans = ner.results?.first?.entities?.map { "\($0.label) \($0.start)..<\($0.end)" }
        #expect(firstSpans == ["PER 0..<16", "LOC 17..<19", "PER 20..<29"], "\(String(describing: firstSpans))")
        #expect(ner.results?.first?.entities?.first?.word == "John Smith lives")

        // question-answering: the span of transformers' decoding.
        let qa = try run([try export("bert-squad", dir), "--tokenizer", Self.fixtures + "/bert-squad",
                          "--question", "What flows through London?", "--context", "The river Thames flows through London, the capital of England."])
        #expect(qa.task == "question-answering")
        #expect(qa.results?.first?.answer?.answer == "Thames flows through London,")

        // fill-mask: the top candidates at the mask, best first.
        let fill = try run([try export("bert-fill-mask", dir), "--tokenizer", Self.fixtures + "/bert-fill-mask",
                            "--text", "Hello, my dog is [MASK].", "--top-k", "3"])
        #expect(fill.task == "fill-mask")
        #expect(fill.results?.first?.masks?.count == 1 && fill.results?.first?.masks?.first?.count == 3)

        // A text longer than the seq bound is truncated with a warning, not refused.
        let long = try CLITests.run(["run", dir + "/bert-ner.json", "--eager", "--tokenizer", Self.fixtures + "/bert-ner",
                                     "--text", Array(repeating: "John", count: 60).joined(separator: " ")])
        #expect(long.status == 0 && long.output.contains("truncated to the model's seq bound 32"), "\(long.output)")

        let missing = try CLITests.run(["run", dir + "/bert-squad.json", "--eager", "--tokenizer", Self.fixtures + "/bert-squad", "--question", "Who?"])
        #expect(missing.status != 0 && missing.output.contains("--question needs --context"), "\(missing.output)")
    }
}
