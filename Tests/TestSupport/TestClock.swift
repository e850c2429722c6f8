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
