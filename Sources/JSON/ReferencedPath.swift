import FoundationEssentials

/// A file or folder that a JSON file names (a manifest's `checkpoint`, a model.json's `constants`):
/// absolute as written, else relative to the folder holding the JSON file, as paths in a config file
/// are everywhere else. An absolute path used to be joined to the JSON file's folder like a relative one
/// (`"/models/minilm"` became `<folder>/models/minilm`).
public enum ReferencedPath {
    /// `path` as named in the JSON file at `file` (itself absolute or relative to the working directory),
    /// made absolute and standardized (`..` resolved as written, so a relative manifest path keeps the
    /// leading `..` of a checkpoint named relative to it).
    public static func resolve(_ path: String, namedIn file: String) -> URL {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardized }
        return URL(fileURLWithPath: file).absoluteURL.deletingLastPathComponent().appendingPathComponent(path).standardized
    }
}
