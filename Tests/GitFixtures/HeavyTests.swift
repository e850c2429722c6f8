/// Lets one heavy test (thousands of generated commits, hundreds of MiB, a real binary under load) run at a
/// time in the test process: the machine has two cores, and the lighter tests that run beside it measure
/// leases and timeouts that a starved machine would break. Correctness does not depend on it; fairness does.
public enum HeavyTests {
    private static let gate = Gate()

    /// Runs `body` once no other heavy test is running.
    public static func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await gate.enter()
        do {
            let result = try await body()
            await gate.leave()
            return result
        } catch {
            await gate.leave()
            throw error
        }
    }

    private actor Gate {
        private var busy = false
        private var waiters: [CheckedContinuation<Void, Never>] = []

        func enter() async {
            if !busy {
                busy = true
                return
            }
            await withCheckedContinuation { waiters.append($0) }
        }

        func leave() {
            if waiters.isEmpty {
                busy = false
            } else {
                waiters.removeFirst().resume()
            }
        }
    }
}
