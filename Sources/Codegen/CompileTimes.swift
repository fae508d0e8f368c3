import Foundation

/// Wall-clock seconds of each phase of a compilation, in the order the phases ran, for `--time-report`
/// and the compile summary: where compile time goes is measured, not guessed.
public struct CompileTimes: Sendable {
    /// Phase names (as `--time-report` prints them) and their seconds.
    public private(set) var phases: [(name: String, seconds: Double)] = []
    /// Work that ran on a thread of its own beside the phases (the weights file written while LLVM
    /// compiles): reported, but not part of the total, which is the wall time of the phases.
    public private(set) var beside: [(name: String, seconds: Double)] = []
    /// Lines printed under the phases: how a phase's work was spread (LLVM's partitions, for one).
    public var details: [String] = []

    /// No phases yet.
    public init() {}

    /// Runs `body`, adding its time to phase `name` (a phase measured twice adds up).
    public mutating func measure<R>(_ name: String, _ body: () throws -> R) rethrows -> R {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { add(name, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        return try body()
    }

    /// Adds `seconds` to phase `name`.
    public mutating func add(_ name: String, seconds: Double) {
        if let i = phases.firstIndex(where: { $0.name == name }) {
            phases[i].seconds += seconds
        } else {
            phases.append((name, seconds))
        }
    }

    /// Adds `seconds` of work that ran beside the phases, as `name`.
    public mutating func addBeside(_ name: String, seconds: Double) {
        if let i = beside.firstIndex(where: { $0.name == name }) { beside[i].seconds += seconds } else { beside.append((name, seconds)) }
    }

    /// Appends `other`'s phases after these.
    public mutating func append(_ other: CompileTimes) {
        for phase in other.phases { add(phase.name, seconds: phase.seconds) }
        for work in other.beside { addBeside(work.name, seconds: work.seconds) }
        details += other.details
    }

    /// The sum of the phases.
    public var total: Double { phases.reduce(0) { $0 + $1.seconds } }

    /// One line per phase with its seconds and share of the total, then the total.
    public var report: String {
        let total = max(self.total, 1e-9)
        let width = max(5, (phases + beside).map(\.name.count).max() ?? 0)
        var lines = phases.map { phase in
            phase.name.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: " %9.3f s  %5.1f %%", phase.seconds, 100 * phase.seconds / total)
        }
        lines.append("total".padding(toLength: width, withPad: " ", startingAt: 0) + String(format: " %9.3f s", self.total))
        lines += beside.map { work in
            work.name.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: " %9.3f s  beside the phases above", work.seconds)
        }
        lines += details
        return lines.joined(separator: "\n")
    }
}
