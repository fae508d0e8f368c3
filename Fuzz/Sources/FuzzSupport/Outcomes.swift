import Foundation

/// Counts of what happened to the inputs (refused at load, ran and agreed, …), printed to stderr
/// when the process exits, so a campaign's log says how deep its inputs got, not only how many ran.
nonisolated(unsafe) private var counts: [String: Int] = [:]
nonisolated(unsafe) private var registered = false

/// Counts one input's outcome under `name`.
public func countOutcome(_ name: String) {
    if !registered {
        registered = true
        atexit {
            let lines = counts.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)" }
            FileHandle.standardError.write(("outcomes:\n" + lines.joined(separator: "\n") + "\n").data(using: .utf8)!)
        }
    }
    counts[name, default: 0] += 1
}
