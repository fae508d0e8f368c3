import Foundation
import Testing
import TCompile
@testable import tcompile

/// Issue #21 through the `tcompile` executable: inputs that used to hang it, trap it or leave a mixed
/// set of artifacts are now one-line errors and untouched outputs.
@Suite(.serialized) struct CLIRobustnessTests {
    /// `tcompile ARGS` under `sh`, with `prefix` shell commands first (a `ulimit`); `timeout` only
    /// keeps a regression from hanging the suite (it is not a timing assertion: the commands take
    /// well under a second when they work).
    static func shell(_ prefix: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try CLITests.runProcess("/bin/sh", ["-c", "\(prefix) timeout 300 '\(CLITests.binary)' \(quoted)"])
    }

    @Test func dimsOutsideTheirBoundsAreErrors() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (dims, message) in [("seq=-1", "--dims: dim 'seq' = -1 is outside its bounds 1...16"),
                                ("batch=3000000000,seq=3000000000", "--dims: dim 'batch' = 3000000000 is outside its bounds 1...4"),
                                ("seq=0", "--dims: dim 'seq' = 0 is outside its bounds 1...16"),
                                ("len=4", "--dims: 'len' is not a dim of this model (batch, seq)")] {
            let r = try CLITests.run(["run", dir + "/model.json", "--dims", dims, "--eager"])
            #expect(r.status == 1 && r.output.contains("tcompile: error: \(message)"), "\(dims): \(r.output)")
        }
        let ok = try CLITests.run(["run", dir + "/model.json", "--dims", "batch=2,seq=3", "--eager"])
        #expect(ok.status == 0, "\(ok.output)")
    }

    @Test func threadCountsThatDoNotFitAreErrors() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for threads in ["2147483648", "0", "-1", "99999999999999999999"] {
            let r = try CLITests.run(["run", dir + "/model.json", "--threads", threads, "--eager"])
            #expect(r.status != 0 && r.output.contains("tcompile: error:") && r.output.contains("threads"), "\(threads): \(r.output)")
        }
    }

    /// A FIFO with no writer as `--inputs` or as model.json blocked `open()` forever.
    @Test func fifosAreRefusedNotWaitedOn() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/fifo", 0o600) == 0)
        let inputs = try Self.shell("", ["run", dir + "/model.json", "--inputs", dir + "/fifo"])
        #expect(inputs.status == 1 && inputs.output.contains("\(dir)/fifo: not a regular file (a FIFO)"), "\(inputs.output)")
        let model = try Self.shell("", ["inspect", dir + "/fifo"])
        #expect(model.status == 1 && model.output.contains("not a regular file (a FIFO)"), "\(model.output)")
        let directory = try Self.shell("", ["inspect", dir])
        #expect(directory.status == 1 && directory.output.contains("tcompile: error:"), "\(directory.output)")
    }

    /// A model whose weights file is larger than a file-size limit that its library fits under: the
    /// second compile into the same directory dies (SIGXFSZ) while writing. Before, it had already
    /// renamed its library and header over the first set's, leaving a new library beside old weights;
    /// now every file is staged first, so the first set is untouched.
    @Test func aFailedCompileLeavesThePreviousSetIntact() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func save(_ rows: Int, seed: UInt64, as name: String) throws {
            let table = Tensor.randn([rows, 64], seed: seed)
            let graph = try Tracer.trace(inputs: [("input_ids", Tensor([1, 2, 3], shape: [1, 3]))],
                                         dynamicDims: [DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 16)],
                                         constants: ["embeddings.weight": table]) { inputs in
                [("hidden", table.indexSelect(dim: 0, index: inputs["input_ids"]!).mean(dim: 1))]
            }
            try GraphFile.save(graph, name: "atomic", to: dir + "/" + name)
        }
        try save(16, seed: 1, as: "small.json")
        try save(8192, seed: 2, as: "large.json")   // 2 MiB of weights
        let first = try CLITests.run([dir + "/small.json", "-o", dir + "/out"])
        #expect(first.status == 0, "\(first.output)")
        let names = ["libatomic.a", "atomic.h", "module.modulemap", "atomic.weights"]
        let before = try names.map { try Data(contentsOf: URL(fileURLWithPath: dir + "/out/" + $0)) }
        #expect(before[0].count < 1_000_000, "the library must fit under the limit for this test (\(before[0].count) bytes)")
        // ulimit -f counts 1024-byte blocks in dash and bash: 1 MiB.
        let second = try Self.shell("ulimit -f 1024;", [dir + "/large.json", "-o", dir + "/out"])
        #expect(second.status != 0, "the write should have failed: \(second.output)")
        let after = try names.map { try Data(contentsOf: URL(fileURLWithPath: dir + "/out/" + $0)) }
        for (name, (a, b)) in zip(names, zip(before, after)) { #expect(a == b, "\(name) changed") }
        // The same through the library: a set written whole, then a failed one.
        let third = try CLITests.run([dir + "/large.json", "-o", dir + "/out"])
        #expect(third.status == 0, "\(third.output)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir + "/out").filter { !$0.hasPrefix(".") }
        #expect(Set(entries) == Set(names), "\(entries)")
    }

    /// `writeDirectoryAtomically`: a directory holding only the set's files is replaced in one step
    /// (a new directory: another inode, and a file of the old set the new one lacks is gone with it);
    /// one holding anything else keeps it, the set's files being renamed in place.
    @Test func aDirectoryOfArtifactsIsSwitchedWhole() throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("switch-\(UUID())").path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let dir = parent + "/out"
        func inode(_ path: String) -> UInt64 { var s = stat(); stat(path, &s); return UInt64(s.st_ino) }
        let owned: Set<String> = ["a", "b", "c"]
        #expect(try writeDirectoryAtomically([("a", Data("1".utf8)), ("c", Data("1".utf8))], to: dir, owned: owned))
        let first = inode(dir)
        #expect(try writeDirectoryAtomically([("a", Data("2".utf8)), ("b", Data("2".utf8))], to: dir, owned: owned))
        #expect(inode(dir) != first, "switched as a new directory")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["a", "b"])
        #expect(try String(contentsOfFile: dir + "/a", encoding: .utf8) == "2")
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["out"], "no staging directory is left")
        try Data("mine".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        let second = inode(dir)
        #expect(try !writeDirectoryAtomically([("a", Data("3".utf8))], to: dir, owned: owned))
        #expect(inode(dir) == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["a", "b", "notes.txt"])
        #expect(try String(contentsOfFile: dir + "/a", encoding: .utf8) == "3")
    }

    /// `cd out && tcompile ../model.json -o .` must not swap away the directory the shell sits in.
    @Test func theCurrentDirectoryIsNotSwappedAway() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try CLITests.run([dir + "/model.json", "-o", dir + "/out", "--quiet"])
        #expect(first.status == 0, "\(first.output)")
        func inode(_ path: String) -> UInt64 { var s = stat(); stat(path, &s); return UInt64(s.st_ino) }
        let before = inode(dir + "/out")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["../model.json", "-o", ".", "--quiet"]
        process.currentDirectoryURL = URL(fileURLWithPath: dir + "/out")
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(inode(dir + "/out") == before, "the current directory was replaced")
        // From elsewhere the same directory is switched whole.
        let third = try CLITests.run([dir + "/model.json", "-o", dir + "/out", "--quiet"])
        #expect(third.status == 0 && inode(dir + "/out") != before, "\(third.output)")
    }

    /// `writeFilesAtomically`: when one file of a set cannot be written, none is replaced and no
    /// temporary is left behind.
    @Test func aSetOfFilesIsWrittenWholeOrNotAtAll() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/a"))
        #expect(throws: FileWriteError.self) {
            try writeFilesAtomically([(dir + "/a", Data("new".utf8)), (dir + "/missing/b", Data("new".utf8))])
        }
        #expect(try String(contentsOfFile: dir + "/a", encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a"])
        try writeFilesAtomically([(dir + "/a", Data("new".utf8)), (dir + "/b", Data("new".utf8))])
        #expect(try String(contentsOfFile: dir + "/a", encoding: .utf8) == "new")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["a", "b"])
    }
}

/// Issue #21: an index past its table names the table and where the index came from, in the
/// interpreter and in compiled code (which used to say "token id" whatever overflowed).
@Suite struct IndexErrorNamingTests {
    static let words = Tensor.randn([10, 4], seed: 1), types = Tensor.randn([2, 4], seed: 2), positions = Tensor.randn([8, 4], seed: 3)

    /// Word, token-type and position embeddings; the position table has 8 rows but `seq` may be 16.
    static func graph() throws -> Graph {
        try Tracer.trace(inputs: [("input_ids", Tensor([1, 2, 3], shape: [1, 3])), ("token_type_ids", Tensor([0, 0, 1], shape: [1, 3]))],
                         dynamicDims: [DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 16),
                                       DynamicDim(input: "token_type_ids", dim: 1, symbol: "seq", max: 16)],
                         constants: ["word_embeddings": words, "token_type_embeddings": types, "position_embeddings": positions]) { x in
            let ids = x["input_ids"]!, kinds = x["token_type_ids"]!
            let seq = ids.shape[1]
            let w = words.indexSelect(dim: 0, index: ids.flattened())
            let t = types.indexSelect(dim: 0, index: kinds.flattened())
            let p = positions.indexSelect(dim: 0, index: Tensor.arange(seq))
            return [("out", w + t + p)]
        }
    }

    static func messages(_ ids: [Int], _ kinds: [Int]) throws -> (interpreted: String, compiled: String) {
        let graph = try graph()
        let inputs = ["input_ids": Tensor(ids, shape: [1, ids.count]), "token_type_ids": Tensor(kinds, shape: [1, kinds.count])]
        var result = ("ran", "ran")
        do { _ = try Interpreter(graph: graph).run(inputs) } catch { result.0 = "\(error)" }
        do { _ = try TCompile.compile(graph)(inputs) } catch { result.1 = "\(error)" }
        return result
    }

    @Test func eachTableIsNamed() throws {
        let word = try Self.messages([1, 12, 3], [0, 0, 0])
        for m in [word.interpreted, word.compiled] {
            #expect(m.contains("index 12 is outside 0..<10 of dim 0 of 'word_embeddings', from input 'input_ids'"), "\(m)")
        }
        let type = try Self.messages([1, 2, 3], [0, 2, 0])
        for m in [type.interpreted, type.compiled] {
            #expect(m.contains("index 2 is outside 0..<2 of dim 0 of 'token_type_embeddings', from input 'token_type_ids'"), "\(m)")
        }
        let position = try Self.messages(Array(repeating: 1, count: 9), Array(repeating: 0, count: 9))
        for m in [position.interpreted, position.compiled] {
            #expect(m.contains("index 8 is outside 0..<8 of dim 0 of 'position_embeddings', a computed index (positions?)"), "\(m)")
        }
        #expect(position.compiled.contains("error: compiled model: "), "\(position.compiled)")
        let fine = try Self.messages([1, 2, 3], [0, 1, 0])
        #expect(fine.interpreted == "ran" && fine.compiled == "ran")
    }
}

/// Issue #21, the newcomer's rough edges: versions, one error style, texts from a file or stdin,
/// `--quiet`, what `bench` measured, names from Hugging Face cache snapshots.
@Suite(.serialized) struct CLIRoughEdgeTests {
    @Test func versionNamesEveryComponent() throws {
        let r = try CLITests.run(["--version"])
        #expect(r.status == 0, "\(r.output)")
        for part in ["tcompile \(TCompile.version)", "LLVM \(HostTarget.llvmVersion), target x86_64", "OpenBLAS ", "(kernels: ", "CPU \(HostTarget.host().cpu): "] {
            #expect(r.output.contains(part), "\(part) in \(r.output)")
        }
    }

    /// Argument-parser errors used to print `Error: …` and the usage; now one line like every other error.
    @Test func argumentErrorsAreOneLine() throws {
        for arguments in [["run"], ["run", "x.json", "--no-such-flag"], ["bench", "x.json", "--repetitions", "many"]] {
            let r = try CLITests.run(arguments)
            let lines = r.output.split(separator: "\n")
            #expect(r.status == 64 && lines.count == 1 && r.output.hasPrefix("tcompile: error: ") && r.output.contains("(see tcompile --help)"),
                    "\(arguments): \(r.output)")
        }
        let help = try CLITests.run(["run", "--help"])
        #expect(help.status == 0 && help.output.contains("--text-file"), "\(help.output)")
    }

    @Test func quietCompilesSilentlyAndBenchSaysWhatItMeasured() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let quiet = try CLITests.run([dir + "/model.json", "-o", dir + "/out", "--quiet"])
        #expect(quiet.status == 0 && quiet.output.isEmpty, "\(quiet.output)")
        #expect(FileManager.default.fileExists(atPath: dir + "/out/libtiny_classifier.a"))
        let bench = try CLITests.run(["bench", dir + "/model.json", "--dims", "batch=2,seq=5", "--threads", "2", "--repetitions", "1"])
        #expect(bench.status == 0 && bench.output.contains("tiny_classifier: dims batch=2, seq=5, 2 threads for the eager and compiled kernels"), "\(bench.output)")
        let export = try CLITests.run(["export", dir, "-o", dir + "/new/"])
        #expect(export.status == 1 && export.output.contains("give the model.json file to write"), "\(export.output)")
    }

    @Test func textsFromAFileOrStdin() throws {
        let manifest = try ManifestTests.write([:])
        defer { try? FileManager.default.removeItem(atPath: (manifest as NSString).deletingLastPathComponent) }
        let dir = (manifest as NSString).deletingLastPathComponent
        let checkpoint = dir + "/classify"
        try "a wonderful film\n\nterrible, boring\n".write(toFile: dir + "/texts.txt", atomically: true, encoding: .utf8)
        let direct = try CLITests.run(["run", manifest, "--eager", "--tokenizer", checkpoint, "--text", "a wonderful film", "--text", "terrible, boring"])
        #expect(direct.status == 0, "\(direct.output)")
        let file = try CLITests.run(["run", manifest, "--eager", "--tokenizer", checkpoint, "--text-file", dir + "/texts.txt"])
        let stdin = try CLITests.runProcess("/bin/sh", ["-c", "printf 'a wonderful film\\nterrible, boring\\n' | '\(CLITests.binary)' run '\(manifest)' --eager --tokenizer '\(checkpoint)' --text -"])
        func results(_ output: String) -> [Substring] { output.split(separator: "\n").dropFirst().map { $0 } }
        #expect(file.status == 0 && results(file.output) == results(direct.output), "\(file.output)\nvs\n\(direct.output)")
        #expect(stdin.status == 0 && results(stdin.output) == results(direct.output), "\(stdin.output)")
        let missing = try CLITests.run(["run", manifest, "--eager", "--tokenizer", checkpoint, "--text-file", dir + "/none.txt"])
        #expect(missing.status == 1 && missing.output.contains("--text-file \(dir)/none.txt: no such file"), "\(missing.output)")
    }

    @Test func cacheSnapshotsAreNamedAfterTheirRepository() {
        let snapshot = URL(fileURLWithPath: "/cache/huggingface/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/8b3219a92973c328a8e22fadcfa821b5dc75636a")
        #expect(ModelExport.defaultName(for: snapshot) == "all_MiniLM_L6_v2")
        #expect(ModelExport.defaultName(for: URL(fileURLWithPath: "/tmp/2layer")) == "model_2layer")
        #expect(ModelExport.defaultName(for: URL(fileURLWithPath: "/tmp/my-bert")) == "my_bert")
    }
}

/// Found by the audit (issue #21): a dim that no input carries (here only an `arange` uses it) has
/// no value in an in-process call; the JIT force-unwrapped the output's shape and trapped.
@Suite struct UnboundDimTests {
    @Test func aDimNoInputCarriesIsAnError() throws {
        let graph = try TextFormat.parse("""
        graph(n <= 8) {
          %0 = arange {start = 0, end = n, step = 1, dtype = i64} : i64[n]
          return %0 as "y"
        }
        """)
        try Verifier.verify(graph)
        #expect(throws: GraphError.self) { _ = try Interpreter(graph: graph).run([:]) }
        do { _ = try TCompile.compile(graph)([:]); Issue.record("ran") } catch {
            #expect("\(error)".contains("dim 'n' is not the size of any input dim"), "\(error)")
        }
    }
}

/// Foundation's errors reach the user as one line, not an `Error Domain=… UserInfo={…}` dump.
@Suite struct OneLineErrorTests {
    @Test func foundationErrorsAreOneLine() throws {
        let missing = "/nonexistent-\(UUID())/file"
        do { _ = try Data(contentsOf: URL(fileURLWithPath: missing)); Issue.record("read") } catch {
            let message = oneLineMessage(error)
            #expect(!message.contains("Error Domain") && !message.contains("\n") && message.contains(missing), "\(message)")
        }
        #expect(oneLineMessage(CLIError("plain")) == "plain")
    }
}
