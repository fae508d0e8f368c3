import Foundation
import Testing
import TCompile
import Transformers

/// The seq2seq AOT library (`Seq2SeqLibrary`: `NAME_encode_run` and `NAME_decode_step_run` in one
/// `libNAME.a` with one weights file), linked with `cc` into the sample `samples/link-c/translate.c`:
/// its greedy ids equal transformers' `model.generate` (the fixtures) and eager generate, on BART and
/// T5 v1.0 / v1.1; `tcompile MANIFEST -o DIR` writes the same library from a seq2seq manifest.
@Suite(.serialized) struct Seq2SeqLibraryTests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../samples/link-c/translate.c").standardized.path

    /// Links the sample against the library in `dir` (named s2s).
    static func link(_ dir: String) throws {
        let log = try GeneratorLibraryTests.shell("cd \(dir) && cc -std=c11 -Wall -Werror -o translate \(sample) -I. -L. -ls2s -lm 2>&1")
        #expect(log.isEmpty, "cc translate.c: \(log)")
    }

    /// The sample's ids: the decoder start token, then the greedy tokens.
    static func translate(_ dir: String, maxNew: Int, start: Int, eos: Int, source: [Int]) throws -> [Int] {
        let output = try GeneratorLibraryTests.shell("cd \(dir) && ./translate s2s.weights \(maxNew) \(start) \(eos) \(source.map(String.init).joined(separator: " ")) 2>&1")
        let ids = output.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        #expect(ids.first == start, "translate: \(output)")
        return Array(ids.dropFirst())
    }

    @Test(arguments: ["bart-lm", "bart-scaled", "mbart-lm", "t5-v1_0", "t5-v1_1", "marian-mt"])
    func greedyIdsEqualTransformers(_ name: String) throws {
        let model = try Seq2SeqGraphsTests.model(name), e = try Seq2SeqGraphsTests.expected(name)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tcompile-s2s-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Seq2SeqLibrary.write(model: model, name: "s2s", maxBatch: 1, maxSource: 16, maxTarget: 16, to: dir,
                                              options: CompileOptions(threads: 2))
        #expect(result.signatures.count == 2)
        let header = try String(contentsOfFile: dir + "/s2s.h", encoding: .utf8)
        #expect(header.contains("int s2s_encode_run(") && header.contains("int s2s_decode_step_run("))
        #expect(header.contains("dims[0] = source, 1 ... 16") && header.contains("dims[1] = past, 0 ... 15"), "\(header)")
        try Self.link(dir)

        let (start, eos, pad) = name.hasPrefix("t5") ? (0, 1, 0) : name.hasPrefix("marian") ? (75, 0, 75) : (2, 2, 1)
        let want = CompiledSeq2SeqGeneratorTests.rows(try e.tensor("generate_greedy"))
        let config = GenerationConfig(maxNewTokens: 10, eosTokenIds: [eos], padTokenId: pad)
        for (i, source) in try CompiledSeq2SeqGeneratorTests.sources(e).enumerated() {
            let native = try Self.translate(dir, maxNew: 10, start: start, eos: eos, source: source)
            #expect(CompiledSeq2SeqGeneratorTests.padded([native], to: want[i].count, pad: pad)[0] == want[i], "\(name) source \(i): \(native)")
            #expect(try native == model.generate([source], config: config)[0])
        }
        // Other sources, as far as the bound allows (start token + 15 new tokens).
        for source in [[5, 17, 33, 2], [60, 9, 81, 44, 12, 7, 3, 2, 11, 40, 41, 42, 43, 44, 45, 46]].map({ $0.map { $0 % model.vocabularySize } }) {
            let native = try Self.translate(dir, maxNew: 15, start: start, eos: eos, source: source)
            var c = config
            c.maxNewTokens = 15
            #expect(try native == model.generate([source], config: c)[0], "\(name) \(source)")
        }
        // A source beyond the bound: the library refuses the dim (status 3), the sample says so.
        let tooLong = try GeneratorLibraryTests.shell("cd \(dir) && ./translate s2s.weights 4 \(start) \(eos) \(Array(repeating: "5", count: 17).joined(separator: " ")) 2>&1")
        #expect(tooLong.contains("encode:") && tooLong.contains("bounds"), "\(tooLong)")
    }

    /// `tcompile export` then `tcompile MANIFEST -o DIR` writes the seq2seq library; the sample
    /// linked against it gives the fixture's ids.
    @Test func commandLineWritesTheLibrary() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tcompile-s2s-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let checkpoint = Seq2SeqExportTests.fixtures.appendingPathComponent("t5-v1_1").path
        let export = try CLITests.run(["export", checkpoint, "--task", "translation", "--max-batch", "1", "--max-seq", "16", "-o", dir + "/model.json"])
        #expect(export.status == 0, "\(export.output)")
        let compile = try CLITests.run([dir + "/model.json", "--name", "s2s", "-o", dir + "/lib"])
        #expect(compile.status == 0 && compile.output.contains("encode and decode_step"), "\(compile.output)")
        try Self.link(dir + "/lib")
        let e = try Seq2SeqGraphsTests.expected("t5-v1_1")
        let want = CompiledSeq2SeqGeneratorTests.rows(try e.tensor("generate_greedy"))
        let source = try CompiledSeq2SeqGeneratorTests.sources(e)[0]
        let native = try Self.translate(dir + "/lib", maxNew: 10, start: 0, eos: 1, source: source)
        #expect(CompiledSeq2SeqGeneratorTests.padded([native], to: want[0].count, pad: 0)[0] == want[0], "\(native)")
    }
}
