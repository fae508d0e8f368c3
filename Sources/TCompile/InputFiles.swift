import Foundation
import JSON
import Graph

/// The files a command reads, so that it can refuse to write any output over one of them (a
/// `tcompile export X -o X/model.safetensors`, a `-o` naming the model's own weights): losing an input
/// to a typo is never recoverable. Files are compared by identity (device and inode, through symlinks
/// and hard links), not by spelling.
public struct InputFiles: Sendable {
    /// The input paths as given.
    public private(set) var paths: [String] = []

    /// No inputs yet.
    public init() {}

    /// Adds one file (a missing one is kept too: it cannot be overwritten, so it never conflicts).
    public mutating func add(_ path: String) { paths.append(path) }

    /// Adds every file directly inside `directory` (a checkpoint or tokenizer folder).
    public mutating func add(directory: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() { paths.append((directory as NSString).appendingPathComponent(name)) }
    }

    /// The files loading the model.json at `path` reads: the file itself and, for a traced graph, its
    /// constants file; for a manifest, every file of the checkpoint directory it names.
    public static func model(_ path: String) -> InputFiles {
        var files = InputFiles()
        files.add(path)
        guard let root = try? JSONReader(contentsOf: path) else { return files }
        let format = root.value["format"]?.stringValue
        if format == GraphFile.format, let constants = root.value["constants"]?.stringValue {
            files.add(ReferencedPath.resolve(constants, namedIn: path).path)
        }
        if format == ModelManifest.format, let checkpoint = root.value["checkpoint"]?.stringValue {
            files.add(directory: ReferencedPath.resolve(checkpoint, namedIn: path).path)
        }
        return files
    }

    /// The input that writing `output` would replace, if any.
    public func overwritten(by output: String) -> String? {
        guard let target = Self.identity(output) else { return nil }
        return paths.first { Self.identity($0) == target }
    }

    /// Throws an `ExportError` naming the input when any of `outputs` would replace one.
    public func check(outputs: [String]) throws {
        for output in outputs {
            if let input = overwritten(by: output) {
                throw ExportError(output == input ? "refusing to overwrite the input \(input)"
                                                  : "refusing to overwrite the input \(input) (with \(output))")
            }
        }
    }

    /// Device and inode of an existing file, following symlinks.
    static func identity(_ path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }
}
