import Testing
import JSON

/// The path-reporting reader, as a manifest with known-field checking uses it.
struct ReaderTests {
    static let manifest = #"""
    {"format": "tcompile.model/1", "checkpoint": "ckpt", "dynamic_dims": {"batch": {"max": 8}, "seq": {"max": "many"}},
     "outputs": ["a", "b"], "options": {"threads": 2.0}}
    """#

    static func root(_ text: String = manifest) throws -> JSONReader { try JSONReader(parsing: Array(text.utf8), file: "model.json") }

    static func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return (error as? JSONError)?.description ?? "not a JSONError: \(error)" }
    }

    @Test func readsTypedFieldsWithPaths() throws {
        let root = try Self.root()
        #expect(try root.requireString("format") == "tcompile.model/1")
        #expect(try root.object(at: "dynamic_dims").object(at: "batch").requireInt("max") == 8)
        #expect(try root.array(at: "outputs").map { e throws(JSONError) in try e.string() } == ["a", "b"])
        #expect(try root.optionalString("name") == nil)
        #expect(root.contains("checkpoint") && !root.contains("name"))
        #expect(try root.array(at: "outputs")[1].path.description == "outputs[1]")
    }

    @Test func errorsNameFileAndPath() throws {
        let root = try Self.root()
        #expect(Self.message { _ = try root.object(at: "dynamic_dims").object(at: "seq").requireInt("max") }
                == #"model.json: dynamic_dims.seq.max: must be an integer, got "many""#)
        #expect(Self.message { _ = try root.optionalObject(at: "options")?.optionalInt("threads") }
                == "model.json: options.threads: must be an integer, got 2.0")
        #expect(Self.message { _ = try root.requireString("architecture") } == "model.json: architecture: is missing")
        #expect(Self.message { _ = try root.object(at: "outputs") } == "model.json: outputs: must be an object, got an array")
        #expect(Self.message { _ = try root.array(at: "outputs")[0].int() } == #"model.json: outputs[0]: must be an integer, got "a""#)
        #expect(Self.message { try root.rejectUnknownFields(["format", "checkpoint", "dynamic_dims", "outputs"]) }
                == "model.json: options: is not a known field (expected one of checkpoint, dynamic_dims, format, outputs)")
        #expect(Self.message { throw root.error(at: "format", "must be \"x\"") } == #"model.json: format: must be "x""#)
    }

    @Test func nullIsAbsentForOptionalsAndATypeErrorForRequired() throws {
        let root = try Self.root(#"{"a": null}"#)
        #expect(try root.optionalInt("a") == nil)
        #expect(Self.message { _ = try root.requireInt("a") } == "model.json: a: must be an integer, got null")
    }

    @Test func keysThatAreNotIdentifiersAreQuoted() throws {
        let root = try Self.root(#"{"vocab": {"[UNK]": "x"}}"#)
        let member = try root.object(at: "vocab").members()[0].value
        #expect(Self.message { _ = try member.int() } == #"model.json: vocab["[UNK]"]: must be an integer, got "x""#)
    }

    @Test func unreadableFilesAreErrors() {
        #expect(Self.message { _ = try JSONReader(contentsOf: "/nonexistent/model.json") }
                == "/nonexistent/model.json: cannot read the file (no such file)")
    }
}
