import Domain
import Foundation

/// When a failed attempt runs again: `base · 2^attempt`, capped, with ±`jitter` spread so jobs that
/// failed together (a host went down) do not all come back at the same instant.
public struct RetryPolicy: Sendable, Equatable {
    public var base: Duration
    public var maximum: Duration
    /// Fraction of the delay added or removed at random, 0...1.
    public var jitter: Double

    /// Seed 004's defaults: 2 s base (so 4 s, 8 s, …), at most one hour, ±20 %.
    public static let `default` = RetryPolicy(base: .seconds(2), maximum: .seconds(3600), jitter: 0.2)

    public init(base: Duration, maximum: Duration, jitter: Double) {
        self.base = base
        self.maximum = maximum
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay after failed attempt number `attempt` (1 for the first attempt).
    public func delay(afterAttempt attempt: Int, random: Double = Double.random(in: -1...1)) -> Duration {
        let exponent = Double(min(max(attempt, 0), 40))
        let seconds = min(base.seconds * pow(2, exponent), maximum.seconds)
        return .seconds(max(0, seconds * (1 + jitter * random)))
    }
}

