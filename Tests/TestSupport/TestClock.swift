import Foundation
import Synchronization

/// A clock tests move by hand: leases expire and retries come due without waiting.
public final class TestClock: Sendable {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    public var now: Date { current.withLock { $0 } }

    public func advance(by seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// For APIs that take `@Sendable () -> Date`.
    public var function: @Sendable () -> Date { { [self] in self.now } }
}

/// Polls `condition` every 20 ms until it holds (true) or `timeout` passes (false). For waiting on
/// background work in tests; never for asserting on timing.
public func waitUntil(_ timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return false
}
