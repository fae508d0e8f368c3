import Foundation
import Testing
import Graph
import Tensors
@testable import Codegen

/// Builds and runs a C program against an AOT library: the library links with `cc` and nothing but
/// OpenBLAS and libm, and computes what the interpreter computes.
@Suite(.serialized) struct AOTTests {
    static let table = Tensor.randn([10, 6], seed: 21)
    static let projection = Tensor.randn([6, 6], std: 0.4, seed: 22)

    /// The tiny model, with the weights given (the same lines trace it, so retrained weights give the same graph text).
    static func graph(table: Tensor = table, projection: Tensor = projection) throws -> Graph {
        try Tracer.trace(inputs: [("input_ids", Tensor([1, 2, 3], shape: [1, 3]))],
                         dynamicDims: [DynamicDim(input: "input_ids", dim: 0, symbol: "batch", max: 4),
                                       DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 32)],
                         constants: ["embedding": table, "projection": projection]) { inputs in
            let x = table.indexSelect(dim: 0, index: inputs["input_ids"]!)
            let h = x.matmul(projection).gelu()
            let scores = h.matmul(h.transposed(-1, -2)).softmax(dim: -1)
            return [("hidden", scores.matmul(h).layerNorm()), ("pooled", h.mean(dim: 1))]
        }
    }

    static let program = """
    #include <stdio.h>
    #include <stdlib.h>
    #include "tiny.h"
    int main(int argc, char **argv) {
        int64_t dims[2] = {atoll(argv[2]), atoll(argv[3])};
        int64_t n = dims[0] * dims[1];
        int64_t *ids = malloc(sizeof(int64_t) * n);
        for (int64_t i = 0; i < n; i++) ids[i] = atoll(argv[4 + i]);
        tiny_model *model = NULL;
        int status = argv[1][0] == '-' ? tiny_create_embedded(&model) : tiny_create(argv[1], &model);
        if (status != 0) { printf("create %d %s\\n", status, tiny_error_message(status)); return 0; }
        float *hidden = malloc(sizeof(float) * (tiny_output_elements(0, dims) > 0 ? tiny_output_elements(0, dims) : 1));
        float *pooled = malloc(sizeof(float) * (tiny_output_elements(1, dims) > 0 ? tiny_output_elements(1, dims) : 1));
        void *workspace = aligned_alloc(64, (tiny_workspace_size() + 63) / 64 * 64);
        const void *inputs[1] = {ids};
        void *outputs[2] = {hidden, pooled};
        status = tiny_run(model, dims, inputs, outputs, workspace);
        if (status != 0) { printf("run %d %s\\n", status, tiny_error_message(status)); return 0; }
        printf("ok");
        for (int64_t i = 0; i < tiny_output_elements(0, dims); i++) printf(" %.7g", hidden[i]);
        for (int64_t i = 0; i < tiny_output_elements(1, dims); i++) printf(" %.7g", pooled[i]);
        printf("\\n");
        printf("null %d\\n", tiny_run(model, NULL, inputs, outputs, workspace));
        tiny_destroy(model);
        return 0;
    }
    """

    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func build(embed: Bool) throws -> (dir: String, binary: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aot-\(UUID())").path
        let out = try AOTCompiler.write(try Self.graph(), name: "tiny", to: dir, embedWeights: embed, emit: [.object, .llvmIR, .graph])
        #expect(out.files.contains { $0.hasSuffix("libtiny.a") } && out.files.contains { $0.hasSuffix("tiny.h") })
        try Self.program.write(toFile: dir + "/main.c", atomically: true, encoding: .utf8)
        let log = try Self.shell("cd \(dir) && cc -std=c11 -Wall -Werror -o app main.c -L. -ltiny -lm 2>&1")
        #expect(log.isEmpty, "cc: \(log)")
        return (dir, dir + "/app")
    }

    @Test(arguments: [false, true])
    func cProgramMatchesTheInterpreter(_ embed: Bool) throws {
        let (dir, app) = try build(embed: embed)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let interpreter = Interpreter(graph: try Self.graph())
        for (batch, seq) in [(1, 5), (3, 2), (4, 32)] {
            let ids = Tensor.randint(0, 10, shape: [batch, seq], seed: UInt64(batch * 100 + seq))
            let expected = try interpreter.run(["input_ids": ids])
            let output = try Self.shell("\(app) \(embed ? "-" : dir + "/tiny.weights") \(batch) \(seq) " + ids.toIntArray().map(String.init).joined(separator: " "))
            let words = output.split(whereSeparator: \.isWhitespace)
            #expect(words.first == "ok", "\(output.prefix(200))")
            let values = words.dropFirst().prefix(while: { $0 != "null" }).compactMap { Float($0) }
            let reference = expected["hidden"]!.toFloatArray() + expected["pooled"]!.toFloatArray()
            #expect(values.count == reference.count)
            for (a, e) in zip(values, reference) { #expect(Swift.abs(a - e) <= 1e-4 * (1 + Swift.abs(e))) }
            #expect(output.contains("null \(CAPI.Status.invalidArgument.rawValue)"))
        }
    }

    /// `--emit obj` writes the library's two objects (code, and data: the weights header), which link
    /// on their own, without the archive.
    @Test func emittedObjectsLinkWithoutTheArchive() throws {
        let (dir, _) = try build(embed: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try Self.shell("cd \(dir) && cc -std=c11 -o app2 main.c tiny.o tiny_data.o -lm -lpthread 2>&1")
        #expect(log.isEmpty, "cc: \(log)")
        let output = try Self.shell("\(dir)/app2 \(dir)/tiny.weights 1 3 1 2 3")
        #expect(output.hasPrefix("ok"), "\(output.prefix(200))")
    }

    @Test func badInputsReturnErrorCodes() throws {
        let (dir, app) = try build(embed: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try Self.shell("\(app) \(dir)/tiny.weights 5 1 1 2 3 4 5").hasPrefix("run 3"), "batch beyond its bound")
        #expect(try Self.shell("\(app) \(dir)/tiny.weights 1 2 1 10").hasPrefix("run 2"), "token id outside the vocabulary")
        #expect(try Self.shell("\(app) \(dir)/missing.weights 1 1 1").hasPrefix("create 4"))
        #expect(try Self.shell("\(app) - 1 1 1").hasPrefix("create 4"), "no embedded weights in this build")
        let weights = try Data(contentsOf: URL(fileURLWithPath: dir + "/tiny.weights"))
        try weights.prefix(weights.count - 100).write(to: URL(fileURLWithPath: dir + "/truncated.weights"))
        #expect(try Self.shell("\(app) \(dir)/truncated.weights 1 1 1").hasPrefix("create 4"))
        var corrupted = weights
        corrupted[0] = 0x58
        try corrupted.write(to: URL(fileURLWithPath: dir + "/corrupt.weights"))
        #expect(try Self.shell("\(app) \(dir)/corrupt.weights 1 1 1").hasPrefix("create 4"))
    }

    /// Every argument check of the C API, one line per case: `name status`.
    static let probe = """
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include "tiny.h"
    static tiny_model *model;
    static void *workspace;
    static float hidden[4 * 32 * 6], pooled[4 * 6];
    static int run(int64_t batch, int64_t seq, const int64_t *ids) {
        int64_t dims[2] = {batch, seq};
        const void *inputs[1] = {ids};
        void *outputs[2] = {hidden, pooled};
        return tiny_run(model, dims, inputs, outputs, workspace);
    }
    int main(int argc, char **argv) {
        tiny_model *unused = NULL;
        printf("create_null_path %d\\n", tiny_create(NULL, &unused));
        printf("create_null_out %d\\n", tiny_create(argv[1], NULL));
        printf("create_embedded_null_out %d\\n", tiny_create_embedded(NULL));
        printf("create_directory %d\\n", tiny_create("/", &unused));
        printf("create_empty %d\\n", tiny_create("/dev/null", &unused));
        printf("create_fifo %d\\n", argc > 2 ? tiny_create(argv[2], &unused) : -1);
        printf("create %d\\n", tiny_create(argv[1], &model));
        workspace = aligned_alloc(64, (tiny_workspace_size() + 63) / 64 * 64);
        int64_t ids[3] = {1, 2, 3}, dims[2] = {1, 3};
        const void *inputs[1] = {ids}, *null_input[1] = {NULL};
        void *outputs[2] = {hidden, pooled}, *null_output[2] = {hidden, NULL};
        printf("ok %d\\n", tiny_run(model, dims, inputs, outputs, workspace));
        printf("null_model %d\\n", tiny_run(NULL, dims, inputs, outputs, workspace));
        printf("null_dims %d\\n", tiny_run(model, NULL, inputs, outputs, workspace));
        printf("null_inputs %d\\n", tiny_run(model, dims, NULL, outputs, workspace));
        printf("null_input_buffer %d\\n", tiny_run(model, dims, null_input, outputs, workspace));
        printf("null_outputs %d\\n", tiny_run(model, dims, inputs, NULL, workspace));
        printf("null_output_buffer %d\\n", tiny_run(model, dims, inputs, null_output, workspace));
        printf("null_workspace %d\\n", tiny_run(model, dims, inputs, outputs, NULL));
        int64_t many[5 * 33] = {0};
        printf("batch_over %d\\n", run(5, 3, many));
        printf("seq_over %d\\n", run(1, 33, many));
        printf("batch_zero %d\\n", run(0, 3, many));
        printf("seq_negative %d\\n", run(1, -1, many));
        printf("batch_huge %d\\n", run(INT64_MAX, 3, many));
        printf("bounds_ok %d\\n", run(4, 32, many));
        int64_t over[3] = {1, 10, 2}, negative[3] = {1, -1, 2}, lowest[3] = {INT64_MIN, 0, 0}, last[3] = {9, 9, 9};
        printf("id_over %d\\n", run(1, 3, over));
        printf("id_negative %d\\n", run(1, 3, negative));
        printf("id_lowest %d\\n", run(1, 3, lowest));
        printf("id_last %d\\n", run(1, 3, last));
        printf("elements_null_dims %lld\\n", (long long)tiny_output_elements(0, NULL));
        printf("elements_bad_index %lld\\n", (long long)tiny_output_elements(7, dims));
        /* Dims outside their bounds (found by the hostile set): a negative count, and a count that
         * wrapped to 0, before they were -1. */
        int64_t negative_batch[2] = {-5, 3}, huge_batch[2] = {INT64_C(1) << 62, 3}, at_bounds[2] = {4, 32};
        printf("elements_negative_batch %lld\\n", (long long)tiny_output_elements(0, negative_batch));
        printf("elements_huge_batch %lld\\n", (long long)tiny_output_elements(0, huge_batch));
        printf("elements_at_bounds %lld\\n", (long long)tiny_output_elements(0, at_bounds));
        printf("message_unknown %d\\n", tiny_error_message(99) != NULL);
        printf("threads_null_model %d\\n", tiny_set_threads(NULL, 2));
        printf("threads_negative %d\\n", tiny_set_threads(model, -1));
        printf("threads_all_cores %d\\n", tiny_set_threads(model, 0));
        printf("threads_two %d\\n", tiny_set_threads(model, 2));
        printf("threads_ok %d\\n", tiny_run(model, dims, inputs, outputs, workspace));
        tiny_destroy(NULL);
        tiny_destroy(model);
        free(workspace);
        printf("done 0\\n");
        return 0;
    }
    """

    /// The C API checks every pointer, dim and id before the kernel reads anything: NULL pointers (and
    /// a negative thread count) give status 1, ids outside the table 2, dims outside their bounds 3, unusable weights 4.
    @Test func cAPIRejectsEveryBadArgument() throws {
        let (dir, _) = try build(embed: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.probe.write(toFile: dir + "/probe.c", atomically: true, encoding: .utf8)
        let log = try Self.shell("cd \(dir) && cc -std=c11 -Wall -Werror -o probe probe.c -L. -ltiny -lm 2>&1")
        #expect(log.isEmpty, "cc: \(log)")
        // A FIFO with no writer: opening it blocked NAME_create forever before O_NONBLOCK.
        #expect(mkfifo(dir + "/fifo.weights", 0o600) == 0)
        let output = try Self.shell("\(dir)/probe \(dir)/tiny.weights \(dir)/fifo.weights")
        var results: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count == 2, let value = Int(words[1]) { results[String(words[0])] = value }
        }
        let expected: [String: Int] = [
            "create_null_path": 1, "create_null_out": 1, "create_embedded_null_out": 1, "create_directory": 4, "create_empty": 4, "create_fifo": 4,
            "create": 0, "ok": 0,
            "null_model": 1, "null_dims": 1, "null_inputs": 1, "null_input_buffer": 1, "null_outputs": 1,
            "null_output_buffer": 1, "null_workspace": 1,
            "batch_over": 3, "seq_over": 3, "batch_zero": 3, "seq_negative": 3, "batch_huge": 3, "bounds_ok": 0,
            "id_over": 2, "id_negative": 2, "id_lowest": 2, "id_last": 0,
            "elements_null_dims": -1, "elements_bad_index": -1, "message_unknown": 1,
            "elements_negative_batch": -1, "elements_huge_batch": -1, "elements_at_bounds": 4 * 32 * 6,
            "threads_null_model": 1, "threads_negative": 1, "threads_all_cores": 0, "threads_two": 0, "threads_ok": 0, "done": 0,
        ]
        for (name, status) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(results[name] == status, "\(name): got \(results[name].map(String.init) ?? "nothing") in\n\(output)")
        }
    }

    /// Loads each weights file named on the command line; prints `create run` statuses per file.
    static let loader = """
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include "tiny.h"
    int main(int argc, char **argv) {
        void *workspace = aligned_alloc(64, (tiny_workspace_size() + 63) / 64 * 64);
        float hidden[3 * 6], pooled[6];
        int64_t ids[3] = {1, 2, 3}, dims[2] = {1, 3};
        const void *inputs[1] = {ids};
        void *outputs[2] = {hidden, pooled};
        for (int i = 1; i < argc; i++) {
            tiny_model *model = NULL;
            int created = tiny_create(argv[i], &model);
            int ran = created == 0 ? tiny_run(model, dims, inputs, outputs, workspace) : -1;
            tiny_destroy(model);
            printf("%d %d\\n", created, ran);
        }
        free(workspace);
        return 0;
    }
    """

    /// 300 damaged weights files (random bytes of the header and offset table changed, random
    /// truncations and extensions): `tiny_create` rejects each with status 4 or, when the damage left
    /// a valid file (a data byte, a reserved byte), loads it; nothing crashes or reads out of bounds.
    @Test func damagedWeightsFilesAreRejectedOrValid() throws {
        let (dir, _) = try build(embed: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.loader.write(toFile: dir + "/loader.c", atomically: true, encoding: .utf8)
        let log = try Self.shell("cd \(dir) && cc -std=c11 -Wall -Werror -o loader loader.c -L. -ltiny -lopenblas -lm 2>&1")
        #expect(log.isEmpty, "cc: \(log)")
        let original = try Data(contentsOf: URL(fileURLWithPath: dir + "/tiny.weights"))
        var generator = SystemRandomNumberGenerator()
        var paths: [String] = []
        var headerDamaged: [Bool] = []
        for i in 0..<300 {
            var damaged = original
            var header = false
            switch i % 3 {
            case 0:   // change 1–4 distinct bytes of the header and offset table (first 64 + 16 × 2 bytes);
                      // distinct, since two changes of one byte could cancel and leave the file whole
                let changes = Int.random(in: 1...4, using: &generator)
                var positions = Set<Int>()
                while positions.count < changes { positions.insert(Int.random(in: 0..<96, using: &generator)) }
                for at in positions {
                    damaged[at] ^= UInt8.random(in: 1...255, using: &generator)
                    header = true
                }
            case 1: damaged = damaged.prefix(Int.random(in: 0..<original.count, using: &generator)); header = true
            default: damaged.append(contentsOf: [UInt8](repeating: 0, count: Int.random(in: 1...128, using: &generator))); header = true
            }
            let path = dir + "/damaged-\(i).weights"
            try damaged.write(to: URL(fileURLWithPath: path))
            paths.append(path)
            headerDamaged.append(header)
        }
        let output = try Self.shell("\(dir)/loader " + paths.joined(separator: " "))
        let lines = output.split(separator: "\n")
        #expect(lines.count == paths.count, "the loader stopped early: \(output.suffix(300))")
        for (i, line) in lines.enumerated() {
            let statuses = line.split(separator: " ").compactMap { Int($0) }
            #expect(statuses == [4, -1] || statuses == [6, -1] || statuses == [0, 0], "file \(i): \(line)")
            // The library holds the whole header and table (content hash included): any change there,
            // reserved bytes too, and any truncation or extension is refused.
            if headerDamaged[i] || i % 3 == 0 { #expect(statuses == [4, -1] || statuses == [6, -1], "file \(i) (damaged header, truncated or extended) was accepted") }
        }
    }

    /// Runs the loader of the library in `dir` on `files`, one `create run` status pair per file.
    func load(_ dir: String, _ files: [String]) throws -> [[Int]] {
        try Self.loader.write(toFile: dir + "/loader.c", atomically: true, encoding: .utf8)
        let log = try Self.shell("cd \(dir) && cc -std=c11 -Wall -Werror -o loader loader.c -L. -ltiny -lm 2>&1")
        #expect(log.isEmpty, "cc: \(log)")
        let output = try Self.shell("\(dir)/loader " + files.joined(separator: " "))
        return output.split(separator: "\n").map { $0.split(separator: " ").compactMap { Int($0) } }
    }

    /// Issue #21: the weights file is bound to its library by a content hash. The weights of another
    /// checkpoint of the same architecture (same shapes and offsets, other values) get their own
    /// status (6), which the header and the message name; a byte changed anywhere in the header or the
    /// table (reserved bytes too) and a file cut to less than one constant are refused (4). Before,
    /// the other checkpoint loaded silently, a reserved byte passed, and the cut file whose recorded
    /// size had been edited to match passed `create` and died of SIGBUS in `run`.
    @Test func weightsAreBoundToTheirLibrary() throws {
        let (dir, _) = try build(embed: false)
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("aot-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: other) }
        // Same architecture, other values.
        let retrained = try Tracer.trace(inputs: [("input_ids", Tensor([1, 2, 3], shape: [1, 3]))],
                                         dynamicDims: [DynamicDim(input: "input_ids", dim: 0, symbol: "batch", max: 4),
                                                       DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 32)],
                                         constants: ["embedding": Tensor.randn([10, 6], seed: 99), "projection": Tensor.randn([6, 6], std: 0.4, seed: 98)]) { inputs in
            let table = Tensor.randn([10, 6], seed: 99), projection = Tensor.randn([6, 6], std: 0.4, seed: 98)
            let x = table.indexSelect(dim: 0, index: inputs["input_ids"]!)
            let h = x.matmul(projection).gelu()
            let scores = h.matmul(h.transposed(-1, -2)).softmax(dim: -1)
            return [("hidden", scores.matmul(h).layerNorm()), ("pooled", h.mean(dim: 1))]
        }
        _ = try AOTCompiler.write(retrained, name: "tiny", to: other)
        let mine = try Data(contentsOf: URL(fileURLWithPath: dir + "/tiny.weights"))
        let theirs = try Data(contentsOf: URL(fileURLWithPath: other + "/tiny.weights"))
        #expect(mine.count == theirs.count && mine.prefix(16) == theirs.prefix(16) && mine[24..<96] == theirs[24..<96],
                "the two checkpoints should differ only in their hash and values")
        let header = try String(contentsOfFile: dir + "/tiny.h", encoding: .utf8)
        let hash = WeightsFile.storedHash(Array(mine))!
        #expect(header.contains("#define TINY_WEIGHTSMISMATCH 6"))
        #expect(header.contains("#define TINY_WEIGHTS_HASH 0x\(String(hash, radix: 16, uppercase: true))ULL"))
        #expect(hash == WeightsFile.contentHash(Array(mine), from: WeightsFile.headerBytes))

        var files: [String] = []
        func add(_ name: String, _ bytes: Data) throws {
            try bytes.write(to: URL(fileURLWithPath: "\(dir)/\(name).weights"))
            files.append("\(dir)/\(name).weights")
        }
        try add("own", mine)
        try add("other", theirs)
        var reserved = mine; reserved[40] ^= 1
        try add("reserved-byte", reserved)
        var table = mine; table[64 + 16 + 1] ^= 1   // the second constant's offset, by 256 bytes
        try add("table-byte", table)
        var hashByte = mine; hashByte[WeightsFile.hashOffset] ^= 0x80
        try add("hash-byte", hashByte)
        // Cut to the header and table, with the recorded size edited to match: every constant lies
        // past the end (the wrapped `offset > size - bytes` let it through).
        var cut = Data(mine.prefix(96))
        withUnsafeBytes(of: UInt64(96).littleEndian) { cut.replaceSubrange(8..<16, with: $0) }
        try add("cut", cut)
        try add("truncated", mine.prefix(mine.count - 100))
        let statuses = try load(dir, files)
        let expected: [[Int]] = [[0, 0], [6, -1], [4, -1], [4, -1], [6, -1], [4, -1], [4, -1]]
        #expect(statuses == expected, "\(zip(files.map { ($0 as NSString).lastPathComponent }, statuses).map { "\($0): \($1)" })")
        // The other library accepts its own file and refuses ours.
        #expect(try load(other, [other + "/tiny.weights", dir + "/own.weights"]) == [[0, 0], [6, -1]])
        #expect(try Self.shell("\(dir)/app \(dir)/other.weights 1 1 1").hasPrefix("create 6 the weights file belongs to another build"))
    }

    /// Issue #21: input, output and dim names come from model.json and land in `NAME.h`'s comments.
    /// A name holding `*/`, a newline and a directive used to inject C into every program including
    /// the header; now a name that is not a C identifier is printed as an escaped string, and the
    /// header compiles with `-Wall -Werror` (and no `#error` from the name fires).
    @Test func hostileNamesCannotInjectIntoTheHeader() throws {
        let hostile = "x */\n#error injected\n/* ??/"
        var b = GraphBuilder(symbols: [DimSymbol("n */\n#error dim\n/*", max: 4)])
        let x = b.input(hostile, TensorType(.float32, [SymbolicInt(symbol: "n */\n#error dim\n/*")]))
        let y = try b.add(.unary(.relu), [x])
        b.output("out */\n#error output\n/*\\", y)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aot-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try AOTCompiler.write(b.graph, name: "tiny", to: dir)
        let header = try String(contentsOfFile: dir + "/tiny.h", encoding: .utf8)
        #expect(header.contains(#"inputs[0] = "x \x2A\x2F\x0A"#), "\(header)")
        for line in header.split(separator: "\n") where line.hasPrefix("#") {
            #expect(["#ifndef", "#define", "#include", "#ifdef", "#endif"].contains { line.hasPrefix($0) }, "\(line)")
        }
        try "#include \"tiny.h\"\nint main(void) { return TINY_NUM_INPUTS - 1; }\n".write(toFile: dir + "/main.c", atomically: true, encoding: .utf8)
        let log = try Self.shell("cd \(dir) && cc -std=c11 -Wall -Werror -trigraphs -o app main.c -L. -ltiny -lm 2>&1 && ./app && echo ran")
        #expect(log == "ran\n", "\(log)")
        #expect(CHeader.commentText("input_ids") == "input_ids")
        #expect(CHeader.commentText("a*/b") == #""a\x2A\x2Fb""#)
    }

    @Test func artifactsAreByteIdenticalAcrossRuns() throws {
        let a = FileManager.default.temporaryDirectory.appendingPathComponent("aot-\(UUID())").path
        let b = FileManager.default.temporaryDirectory.appendingPathComponent("aot-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        let x = try AOTCompiler.write(try Self.graph(), name: "tiny", to: a, emit: [.object, .llvmIR, .assembly, .graph, .dot])
        _ = try AOTCompiler.write(try Self.graph(), name: "tiny", to: b, emit: [.object, .llvmIR, .assembly, .graph, .dot])
        for file in x.files {
            let name = (file as NSString).lastPathComponent
            #expect(FileManager.default.contentsEqual(atPath: file, andPath: b + "/" + name), "\(name)")
        }
        #expect(throws: CodegenError.self) { try AOTCompiler.write(try Self.graph(), name: "bad-name", to: a) }
    }
}
