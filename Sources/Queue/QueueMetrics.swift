import Foundation
import Prometheus

/// The queue's Prometheus metrics: jobs enqueued, started, completed, retried and discarded per queue
/// and kind, run time, lease expirations, and (set when `/metrics` is scraped) depth and oldest age.
public final class QueueMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    enum Outcome: String { case completed, retried, discarded }

    private func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(descriptor: .init(metricName: name, unitName: "total", helpText: help), labels: labels)
    }

    func enqueued(queue: String, kind: String) {
        counter("jobs_enqueued", "Jobs inserted", [("queue", queue), ("kind", kind)]).increment()
    }

    func started(_ job: ClaimedJob) {
        counter("jobs_started", "Job attempts started", [("queue", job.queue), ("kind", job.kind)]).increment()
    }

    func finished(_ job: ClaimedJob, outcome: Outcome, at now: Date) {
        counter("jobs_\(outcome.rawValue)", "Job attempts that ended \(outcome.rawValue)", [("queue", job.queue), ("kind", job.kind)]).increment()
    }

    func leaseExpired(queue: String, kind: String) {
        counter("jobs_lease_expired", "Running jobs whose lease expired and were rescued", [("queue", queue), ("kind", kind)]).increment()
    }

    func runTime(_ job: ClaimedJob, _ duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: .init(metricName: "job_run_duration", unitName: "seconds", helpText: "Time a handler ran, per attempt"),
            labels: [("queue", job.queue), ("kind", job.kind)],
            buckets: [.milliseconds(1), .milliseconds(10), .milliseconds(100), .seconds(1), .seconds(10), .seconds(60), .seconds(600)]
        ).record(duration)
    }

    /// Sets the depth and age gauges from a fresh ``QueueStats`` reading.
    public func record(_ stats: [QueueStats]) {
        for queue in stats {
            for state in JobState.allCases {
                registry.makeGauge(
                    descriptor: .init(metricName: "jobs", unitName: "count", helpText: "Jobs in the table by queue and state"),
                    labels: [("queue", queue.queue), ("state", state.rawValue)]
                ).set(Double(queue.counts[state] ?? 0))
            }
            registry.makeGauge(
                descriptor: .init(metricName: "queue_oldest_available_age", unitName: "seconds", helpText: "Age of the oldest due job not yet started"),
                labels: [("queue", queue.queue)]
            ).set(queue.oldestAvailableAge ?? 0)
        }
    }
}
