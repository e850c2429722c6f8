import Foundation
import Store
import TestSupport
import Testing

/// Three `repowatch worker` processes on one PostgreSQL drain 5 000 jobs while two of them are
/// killed with SIGKILL at random moments. Every job completes; a job runs more than once only when
/// the lease of a killed worker expired on it.
@Suite("Worker processes")
struct MultiProcessWorkerTests {
    @Test func jobsSurviveWorkersKilledMidFlight() async throws {
        let database = try await TestDatabase.createDatabase()
        let env = CLITests.environment([
            "REPOWATCH_WORKERS_CONCURRENCY": "maintenance=4,repository-setup=0,commit-backfill=0,health-analysis=0",
            "REPOWATCH_JOBS_LEASE": "3s",
            "REPOWATCH_JOBS_RESCUE_INTERVAL": "500ms",
            "REPOWATCH_JOBS_POLL_INTERVAL": "200ms",
            "REPOWATCH_LOG_LEVEL": "warning",
        ])
        let flags = ["--database-url", database]
        let jobCount = 5000
        let enqueue = try await ChildProcess.run(
            CLITests.binary, ["queue", "probe", "--count", "\(jobCount)", "--label", "crash", "--sleep-ms", "20"] + flags, environment: env)
        #expect(enqueue.status == 0, "\(enqueue.stderr)")

        var workers: [ChildProcess] = []
        for _ in 0..<3 { workers.append(try await ChildProcess.start(CLITests.binary, ["worker"] + flags, environment: env)) }
        var killed: [Int32] = []
        var generator = SystemRandomNumberGenerator()
        for round in 0..<2 {
            // A random moment while jobs are running.
            try await Task.sleep(for: .milliseconds(Int.random(in: 700...2500, using: &generator)))
            let victim = Int.random(in: 0..<workers.count, using: &generator)
            workers[victim].send(SIGKILL)
            _ = await workers[victim].waitForExit()
            #expect(workers[victim].wasSignalled, "round \(round): killed, not exited")
            killed.append(workers[victim].pid)
            workers[victim] = try await ChildProcess.start(CLITests.binary, ["worker"] + flags, environment: env)
        }

        let store = PostgresStore(configuration: try PostgresURL.parse(database), logger: TestDatabase.logger)
        try await withRunningStore(store) { store in
            let deadline = ContinuousClock.now + .seconds(240)
            var completed: Int64 = 0
            while ContinuousClock.now < deadline {
                completed = try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'probe' AND state = 'completed'")?.int("n") } ?? 0
                if completed == jobCount { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(completed == Int64(jobCount), "every job completed")
            let executed = try await store.read {
                try await $0.first("SELECT COUNT(DISTINCT job_id) AS n, COUNT(*) AS runs FROM job_probe_runs WHERE label = 'crash'")
            }
            let distinct = try executed?.int("n") ?? 0
            let runs = try executed?.int("runs") ?? 0
            #expect(distinct == Int64(jobCount))
            // Each job that ran more than once must carry the rescuer's "lease expired" record.
            let repeated = try await store.read {
                try await $0.query("""
                    SELECT p.job_id, COUNT(*) AS runs, j.errors::text AS errors, j.attempt
                    FROM job_probe_runs p JOIN jobs j ON j.id = p.job_id
                    WHERE p.label = 'crash' GROUP BY p.job_id, j.errors::text, j.attempt HAVING COUNT(*) > 1
                    """)
            }
            for row in repeated {
                let errors = try row.string("errors") ?? ""
                let id = try row.int("job_id") ?? 0
                #expect(errors.contains("lease expired"), "job \(id) ran twice without losing its lease: \(errors)")
            }
            let leaseLost = try await store.read {
                try await $0.first("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'probe' AND errors::text LIKE '%lease expired%'")?.int("n")
            } ?? 0
            print("""
                multi-process: \(jobCount) jobs, 3 workers, killed pids \(killed); \(runs) executions for \(distinct) jobs: \
                \(runs - distinct) beyond one, on \(repeated.count) jobs; \(leaseLost) jobs had a lease expire
                """)
            #expect(runs - distinct <= leaseLost * 1, "extra executions only where a lease expired")
        }
        for worker in workers { worker.send(SIGTERM) }
        for worker in workers { #expect(await worker.waitForExit() == 0, "graceful exit: \(worker.stderr.suffix(2000))") }
    }
}
