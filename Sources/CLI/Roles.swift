import API
import Analysis
import Egress
import Foundation
import GitHistory
import GitTransport
import Ingestion
import Logging
import Pipeline
import Prometheus
import Queue
import Scorecard
import ServiceLifecycle
import Settings
import Store
import Webhooks

/// The background roles of a process, built from the configuration: the job queue, its workers and
/// the periodic scheduler. `serve` runs them beside the HTTP API; `worker` runs them alone.
struct BackgroundRoles {
    let queue: JobQueue
    let migrations: MigrationService
    let workers: JobWorkers
    let scheduler: PeriodicScheduler

    var services: [any Service] { [workers, scheduler] }

    /// The job queue, with the pipeline's finish hooks: whatever ends a stage's job reconciles its
    /// repository in the same transaction.
    static func queue(settings: Settings, store: any Store, registry: PrometheusCollectorRegistry) -> JobQueue {
        let jobs = settings.jobs
        let queue = JobQueue(
            store: store,
            configuration: .init(
                maxAttempts: jobs.maxAttempts, retry: RetryPolicy(base: jobs.retryBase, maximum: jobs.retryMax, jitter: 0.2),
                lease: jobs.lease,
                // Webhook deliveries back off over hours: an endpoint down for a night still gets its alerts.
                retryByKind: [
                    WebhookDeliveryJob.kind: RetryPolicy(base: settings.webhooks.retryBase, maximum: settings.webhooks.retryMax, jitter: 0.2)
                ],
                maxAttemptsByKind: [WebhookDeliveryJob.kind: settings.webhooks.maxAttempts]),
            metrics: QueueMetrics(registry: registry))
        return lifecycle(settings: settings, queue: queue).installed(on: queue)
    }

    /// The owner of the repositories' lifecycle, as configured.
    static func lifecycle(settings: Settings, queue: JobQueue) -> Lifecycle {
        Lifecycle(queue: queue, schedule: CheckSchedule(settings: settings))
    }

    /// The handlers this binary has: the built-in ones and the pipeline's.
    static func registry(settings: Settings, queue: JobQueue, tokens: TokenCipher?, logger: Logger) -> JobRegistry {
        var registry = JobRegistry()
        registry.register(NoopHandler())
        registry.register(ProbeHandler())
        let jobs = settings.jobs
        registry.register(
            PruneJobsHandler(retention: JobQueue.Retention(
                maxAge: jobs.retentionAge, keep: jobs.retentionCount, discardedMaxAge: jobs.discardedRetentionAge,
                discardedKeep: jobs.discardedRetentionCount)),
            timeout: .seconds(600))
        let lifecycle = lifecycle(settings: settings, queue: queue)
        let ingestion = ingestion(settings: settings, lifecycle: lifecycle, tokens: tokens, logger: logger)
        ingestion.register(into: &registry, timeout: settings.git.timeout * 3)
        let scorecard = settings.scorecard
        registry.register(ScheduleRechecksHandler(lifecycle: lifecycle), timeout: .seconds(600))
        registry.register(ReconcileHandler(lifecycle: lifecycle), timeout: .seconds(600))
        registry.register(InactivityAlertsHandler(lifecycle: lifecycle), timeout: .seconds(600))
        let webhooks = settings.webhooks
        registry.register(
            WebhookDeliveryHandler(
                sender: WebhookSender(
                    egress: EgressPolicy(hosts: webhooks.hosts), timeout: webhooks.timeout, connectTimeout: webhooks.connectTimeout,
                    maxResponseBytes: webhooks.maxResponseBytes),
                secrets: tokens, disabling: WebhookDisablePolicy(failures: webhooks.disableAfterFailures, duration: webhooks.disableAfter)),
            timeout: webhooks.timeout + .seconds(30))
        registry.register(
            HealthAnalysisHandler(ingestion: ingestion, runner: scorecardRunner(settings: settings, logger: logger), cacheTTL: scorecard.cacheTTL),
            // The run's own limit, plus a clone on a host that has none.
            timeout: scorecard.timeout + settings.git.timeout)
        return registry
    }

    /// The Scorecard command as configured. A bare name is looked up beside this binary first (where
    /// `swift build` puts the bundled `repowatch-scorecard`), then on `PATH`.
    static func scorecardRunner(settings: Settings, logger: Logger) -> ScorecardRunner {
        let scorecard = settings.scorecard
        var command = scorecard.command
        if !command.contains("/") {
            let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
                .appendingPathComponent(command).path
            if FileManager.default.isExecutableFile(atPath: beside) { command = beside }
        }
        return ScorecardRunner(
            command: command, arguments: scorecard.arguments,
            environment: scorecard.githubToken.map { ["GITHUB_AUTH_TOKEN": $0] } ?? [:],
            timeout: scorecard.timeout, maxFiles: scorecard.maxFiles, cpuLimit: scorecard.cpuLimit, logger: logger)
    }

    /// The git ingestion stages as configured (`git.*`).
    static func ingestion(settings: Settings, lifecycle: Lifecycle, tokens: TokenCipher?, logger: Logger) -> Ingestion {
        let git = settings.git
        return Ingestion(
            cache: CloneCache(root: URL(fileURLWithPath: settings.clonesPath), budgetBytes: git.cacheBudgetBytes, logger: logger),
            git: GitClient(
                executable: git.executable, limits: GitLimits(timeout: git.timeout, maxBytes: git.maxCloneBytes),
                allowedProtocols: Set(git.protocols),
                // Only proxy and CA-bundle variables pass (GitClient.passableEnvironmentKeys); nothing else of ours reaches git.
                environment: ProcessInfo.processInfo.environment, logger: logger),
            history: HistoryReaders.preferred(gitExecutable: git.executable),
            window: git.historyWindow, maxCommits: git.maxCommits, tokens: tokens, lifecycle: lifecycle, egress: EgressPolicy(hosts: settings.allowedHosts))
    }

    /// - Throws: a configuration error when `jobs.prune_schedule` does not parse.
    static func make(
        settings: Settings, store: any Store, queue: JobQueue, migrations: MigrationService, tokens: TokenCipher?, logger: Logger
    ) throws -> BackgroundRoles {
        let schedule: Schedule
        let recheckSchedule: Schedule
        let reconcileSchedule = Schedule.every(settings.reconcileInterval)
        do {
            schedule = try Schedule(parsing: settings.jobs.pruneSchedule)
        } catch {
            FileHandle.standardError.write(Data("repowatch: configuration error: jobs.prune_schedule: \(error)\n".utf8))
            throw ExitCodeError.configuration
        }
        do {
            recheckSchedule = try Schedule(parsing: settings.recheck.schedule)
        } catch {
            FileHandle.standardError.write(Data("repowatch: configuration error: recheck.schedule: \(error)\n".utf8))
            throw ExitCodeError.configuration
        }
        let workers = JobWorkers(
            queue: queue, registry: registry(settings: settings, queue: queue, tokens: tokens, logger: logger),
            configuration: .init(
                concurrency: settings.workerConcurrency, prefetch: settings.workerPrefetch, pollInterval: settings.jobs.pollInterval,
                rescueInterval: settings.jobs.rescueInterval, shutdownGrace: settings.jobs.shutdownGrace),
            migrations: migrations, logger: logger)
        let scheduler = PeriodicScheduler(
            queue: queue,
            jobs: [
                PeriodicJob(name: "prune-jobs", schedule: schedule, arguments: { _ in PruneJobsJob() }),
                PeriodicJob(name: ScheduleRechecksJob.periodicName, schedule: recheckSchedule, arguments: { _ in ScheduleRechecksJob() }),
                PeriodicJob(name: ReconcileJob.periodicName, schedule: reconcileSchedule, arguments: { _ in ReconcileJob() }),
                // `inactive_days` is evaluated on every report and, for repositories whose next check is days away, daily.
                PeriodicJob(name: InactivityAlertsJob.periodicName, schedule: .every(.seconds(86_400)), arguments: { _ in InactivityAlertsJob() }),
            ],
            migrations: migrations, logger: logger)
        return BackgroundRoles(queue: queue, migrations: migrations, workers: workers, scheduler: scheduler)
    }
}

enum ExitCodeError: Error {
    case configuration
}
