import Locks

/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64): the same seed gives
/// the same numbers on every run and machine.
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The generator's full state, to save in a checkpoint and restore with `init(state:)`.
    public var state: [UInt64] { [s.0, s.1, s.2, s.3] }

    /// A generator continuing exactly where the one whose `state` was saved left off.
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        s = (state[0], state[1], state[2], state[3])
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// A uniform float in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal sample (Box–Muller in double precision).
    public mutating func nextNormal() -> Float {
        var u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }
}

/// The process-wide default generator used when no generator or seed is given (`torch.manual_seed`).
public enum DefaultGenerator {
    private static let state = LockedValue(RandomGenerator(seed: 0x5EED))

    /// Reseeds the default generator.
    public static func seed(_ seed: UInt64) {
        state.withLock { $0 = RandomGenerator(seed: seed) }
    }

    /// Runs `body` with exclusive access to the default generator.
    public static func with<R>(_ body: (inout RandomGenerator) -> R) -> R {
        state.withLock { body(&$0) }
    }
}

@inline(__always) func _log(_ x: Double) -> Double { Foundation_log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Foundation_cos(x) }
