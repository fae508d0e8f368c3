import Foundation

/// Wall-clock seconds of each phase of a compilation, in the order the phases ran, for `--time-report`
/// and the compile summary: where compile time goes is measured, not guessed.
public struct CompileTimes: Sendable {
    /// Phase names (as `--time-report` prints them) and their seconds.
    public private(set) var phases: [(name: String, seconds: Double)] = []

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

    /// Appends `other`'s phases after these.
    public mutating func append(_ other: CompileTimes) {
        for phase in other.phases { add(phase.name, seconds: phase.seconds) }
    }

    /// The sum of the phases.
    public var total: Double { phases.reduce(0) { $0 + $1.seconds } }

    /// One line per phase with its seconds and share of the total, then the total.
    public var report: String {
        let total = max(self.total, 1e-9)
        let width = max(5, phases.map(\.name.count).max() ?? 0)
        var lines = phases.map { phase in
            phase.name.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: " %9.3f s  %5.1f %%", phase.seconds, 100 * phase.seconds / total)
        }
        lines.append("total".padding(toLength: width, withPad: " ", startingAt: 0) + String(format: " %9.3f s", self.total))
        return lines.joined(separator: "\n")
    }
}
