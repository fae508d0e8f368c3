#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A one-line progress bar on standard error: steps done, loss and examples per second. On a terminal
/// it redraws in place; otherwise it prints a line every tenth of the way.
public struct ProgressBar {
    private let total: Int
    private let label: String
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private var examples = 0
    private var lastPrinted = -1

    /// A bar for `total` steps, prefixed by `label`.
    public init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    /// Records that `done` steps are complete after `batchSize` more examples, with the latest loss.
    public mutating func update(done: Int, batchSize: Int, loss: Float) {
        examples += batchSize
        let rate = Double(examples) / Swift.max(Date().timeIntervalSince(start), 1e-9)
        let width = 24
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = "\(label) [\(bar)] \(done)/\(total) loss \(String(format: "%.4f", loss)) \(String(format: "%.1f", rate)) ex/s"
        if isTerminal {
            FileHandle.standardError.write(Data(("\r" + line + (done == total ? "\n" : "")).utf8))
        } else {
            let tenth = total > 0 ? 10 * done / total : 10
            if tenth != lastPrinted || done == total {
                FileHandle.standardError.write(Data((line + "\n").utf8))
                lastPrinted = tenth
            }
        }
    }
}
