import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// A library's weights file packed and written on a thread of its own while LLVM compiles the library's
/// code, into a hidden file beside the output directory that writing the directory then hard-links in
/// (no copy).
///
/// Why: the weights do not depend on the code, and writing them is mostly waiting for the disk (the
/// file is written with `O_DIRECT`) and copying, which overlaps LLVM's work on both cores. MiniLM:
/// 0.10–0.14 s that followed LLVM now runs beside it.
///
/// Where the link cannot be made, or staging failed (a full disk, a directory that cannot be created),
/// the weights are streamed into the directory as before, and that write reports the error. The file
/// is removed however the compile ends, unless the process is killed (as the hidden directory the
/// library is written into would be left then too).
final class StagedWeights: @unchecked Sendable {
    /// The hidden file: `.NAME.weights.staging-PID-RANDOM` in the output directory's parent.
    let path: String
    private let finished = DispatchSemaphore(value: 0)
    /// Set by the writing thread before `finished` is signalled, read after.
    private var result: (header: [UInt8], seconds: Double)?
    private var waited = false

    /// Starts writing the weights file of `layout` for library `name`, to be written into `directory`.
    init(_ layout: WeightsFile.Layout, name: String, directory: String) {
        let parent = URL(fileURLWithPath: directory).standardizedFileURL.deletingLastPathComponent().path
        let path = (parent as NSString).appendingPathComponent(".\(name).weights.staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        self.path = path
        // A thread of its own, not a Dispatch worker: `ParallelCodegen` runs LLVM on Dispatch's workers,
        // one per core, and a block queued beside them would take one of their places.
        let thread = Thread { [self] in
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                let sink = try FileSink(creating: path)
                let header = try layout.write(to: sink)
                try sink.close()
                result = (header, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            } catch {
                unlink(path)
            }
            finished.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Waits for the file: its header (content hash included) and the seconds writing it took, or nil
    /// when it could not be written.
    func wait() -> (header: [UInt8], seconds: Double)? {
        if !waited {
            finished.wait()
            waited = true
        }
        return result
    }

    /// Waits for the file and removes it (after writing the directory linked it, or gave up).
    func remove() {
        _ = wait()
        unlink(path)
    }
}
