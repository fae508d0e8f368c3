import Foundation
import Testing
import TCompile

/// `tcompile` never writes an output over one of its inputs: each command refuses with a clear error
/// before writing anything, and the input is left byte for byte as it was.
@Suite(.serialized) struct OverwriteRefusalTests {
    static func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// A private copy of the shipped classifier checkpoint (a failed refusal must not damage the repo's).
    static func checkpointCopy() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("refusal-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ManifestTests.checkpoint, toPath: dir + "/checkpoint")
        return dir
    }

    @Test(arguments: ["model.safetensors", "config.json", "tokenizer.json"])
    func exportRefusesToWriteIntoTheCheckpointsFiles(_ file: String) throws {
        let root = try Self.checkpointCopy()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let checkpoint = root + "/checkpoint"
        let before = Self.contents(checkpoint + "/" + file)
        let result = try CLITests.run(["export", checkpoint, "--task", "text-classification", "--max-batch", "1", "--max-seq", "8",
                                       "-o", checkpoint + "/" + file])
        #expect(result.status == 1 && result.output.contains("refusing to overwrite the input"), "\(result.output)")
        #expect(Self.contents(checkpoint + "/" + file) == before)
    }

    @Test func exportRefusesWhenTheWeightsFileWouldReplaceAnInput() throws {
        let root = try Self.checkpointCopy()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // -o X/model.json puts its constants in X/model.weights.safetensors: make that an input.
        let checkpoint = root + "/checkpoint"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: checkpoint + "/model.weights.safetensors"))
        let result = try CLITests.run(["export", checkpoint, "--task", "text-classification", "--max-batch", "1", "--max-seq", "8",
                                       "-o", checkpoint + "/model.json"])
        #expect(result.status == 1 && result.output.contains("model.weights.safetensors"), "\(result.output)")
        #expect(Self.contents(checkpoint + "/model.weights.safetensors") == Data("precious".utf8))
        #expect(!FileManager.default.fileExists(atPath: checkpoint + "/model.json"))
    }

    @Test func compileRefusesAnOutputDirectoryThatIsTheInput() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let before = Self.contents(dir + "/model.json")
        let result = try CLITests.run([dir + "/model.json", "-o", dir + "/model.json"])
        #expect(result.status == 1 && result.output.contains("refusing to overwrite the input"), "\(result.output)")
        #expect(Self.contents(dir + "/model.json") == before)
        let file = try CLITests.run([dir + "/model.json", "-o", dir + "/model.weights.safetensors"])
        #expect(file.status == 1 && file.output.contains("refusing to overwrite the input"), "\(file.output)")
    }

    @Test func compileRefusesToReplaceTheModelsConstants() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A graph whose constants file is named like the library's weights: tiny.weights.
        let (_, graph) = try GraphFile.load(path: dir + "/model.json")
        try GraphFile.save(graph, name: "tiny", to: dir + "/tiny.json", weightsFile: "tiny.weights")
        let before = Self.contents(dir + "/tiny.weights")
        let result = try CLITests.run([dir + "/tiny.json", "-o", dir])
        #expect(result.status == 1 && result.output.contains("refusing to overwrite the input \(dir)/tiny.weights"), "\(result.output)")
        #expect(Self.contents(dir + "/tiny.weights") == before)
        #expect(!FileManager.default.fileExists(atPath: dir + "/libtiny.a"), "nothing was written")
        // The same directory is fine when no output lands on an input.
        let other = try CLITests.run([dir + "/tiny.json", "-o", dir, "--name", "other"])
        #expect(other.status == 0, "\(other.output)")
        #expect(Self.contents(dir + "/tiny.weights") == before)
        #expect(try GraphFile.load(path: dir + "/tiny.json").graph.nodes.count == graph.nodes.count)
    }

    /// A model.json may name its constants by an absolute path: read from there, and protected there.
    @Test func anAbsoluteConstantsPathIsReadAndProtected() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (_, graph) = try GraphFile.load(path: dir + "/model.json")
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try GraphFile.save(graph, name: "tiny", to: dir + "/sub/abs.json", weightsFile: dir + "/tiny.weights")
        #expect(FileManager.default.fileExists(atPath: dir + "/tiny.weights"))
        #expect(try GraphFile.load(path: dir + "/sub/abs.json").graph.nodes.count == graph.nodes.count)
        let result = try CLITests.run([dir + "/sub/abs.json", "-o", dir])
        #expect(result.status == 1 && result.output.contains("refusing to overwrite the input \(dir)/tiny.weights"), "\(result.output)")
    }

    @Test func runRefusesToSaveOverItsInputs() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SafeTensors.write(["input_ids": Tensor([3, 1, 4], shape: [1, 3])], to: dir + "/in.safetensors")
        try FileManager.default.createSymbolicLink(atPath: dir + "/alias.json", withDestinationPath: dir + "/model.json")
        let inputs = Self.contents(dir + "/in.safetensors"), weights = Self.contents(dir + "/model.weights.safetensors")
        for target in ["in.safetensors", "model.weights.safetensors", "alias.json", "./model.json"] {
            let result = try CLITests.run(["run", dir + "/model.json", "--inputs", dir + "/in.safetensors", "-o", dir + "/" + target])
            #expect(result.status == 1 && result.output.contains("refusing to overwrite the input"), "\(target): \(result.output)")
        }
        #expect(Self.contents(dir + "/in.safetensors") == inputs && Self.contents(dir + "/model.weights.safetensors") == weights)
        let ok = try CLITests.run(["run", dir + "/model.json", "--inputs", dir + "/in.safetensors", "-o", dir + "/out.safetensors"])
        #expect(ok.status == 0, "\(ok.output)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(!names.contains { $0.contains(".tmp-") }, "no temporary file is left: \(names)")
    }
}
