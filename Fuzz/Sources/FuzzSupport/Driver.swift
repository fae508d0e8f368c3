import Foundation

/// libFuzzer's entry for programs that keep their own `main` (SwiftPM names an executable's entry
/// point `<module>_main` and links `main` to it, so libFuzzer's own `main` cannot be used).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer with the process's arguments (`-max_total_time=…`, corpus folders, …), calling
/// `callback` once per input. What and why: every fuzz target's entry point is this one call.
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                      _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}

/// The input bytes as an array (libFuzzer passes a null pointer for the empty input).
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A private scratch folder for this process (in /dev/shm when it exists, to keep file round trips
/// in memory; scripts/fuzz.sh removes it afterwards); targets that read files write their input here.
public let scratchDirectory: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = "\(base)/tcompile-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

/// Writes the input to `name` inside the scratch folder and returns its path.
public func writeScratch(_ bytes: [UInt8], name: String) -> String {
    let path = scratchDirectory + "/" + name
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot create \(path)")
    var written = 0
    bytes.withUnsafeBytes { buffer in
        while written < buffer.count {
            let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
            precondition(n > 0, "cannot write \(path)")
            written += n
        }
    }
    close(fd)
    return path
}

/// The repository root, from the environment (`TCOMPILE_ROOT`, set by scripts/fuzz.sh) or the
/// current directory; targets load their fixed tokenizers from here.
public let repositoryRoot: String = ProcessInfo.processInfo.environment["TCOMPILE_ROOT"] ?? FileManager.default.currentDirectoryPath

/// Objects kept alive for the whole run through plain (untagged) pointers. LeakSanitizer cannot see a
/// class reference stored in a multi-payload Swift enum (the case tag sits in the pointer's spare
/// bits), so a long-lived object held only that way is reported as leaked at the first leak check;
/// targets register such objects here (see docs/security.md).
nonisolated(unsafe) public var keptAlive: [AnyObject] = []
