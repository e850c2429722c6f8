import Foundation
import Hummingbird
import Logging
import Pipeline
import Prometheus
import Queue
import Settings
import Store

/// Unauthenticated operational routes: liveness, readiness, metrics, the OpenAPI document.
struct SystemController {
    let store: any Store
    let queue: JobQueue
    let registry: PrometheusCollectorRegistry
    let settings: Settings

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("health/live", use: live)
        router.get("health/ready", use: ready)
        router.get("metrics", use: metrics)
        router.get("openapi.json", use: openAPI)
    }

    struct HealthResponse: Encodable {
        let status: String
        let checks: [String: String]?
    }

    /// The process is up and serving HTTP.
    @Sendable func live(_ request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.make(.ok, HealthResponse(status: "ok", checks: nil))
    }

    /// The process can do its work: the store answers. 503 otherwise.
    @Sendable func ready(_ request: Request, context: AppRequestContext) async throws -> Response {
        do {
            try await store.ping()
            // The scheduler's health is shown, not judged: it runs in whichever process leads, maybe not this one.
            let scheduler = try? await SchedulerHealth.read(store: store, settings: settings)
            var checks = ["store": "ok"]
            if let scheduler {
                checks["scheduler"] = scheduler.status
                checks["scheduler_last_run_at"] = scheduler.last_run_at.map(Timestamp.format) ?? "never"
                checks["overdue_repositories"] = "\(scheduler.overdue_repositories)"
            }
            // Shown, not judged either: the leader's reconcile pass repairs a stall within one interval.
            if let stalls = try? await Lifecycle.stallStats(store: store) {
                checks["stalled_repositories"] = "\(stalls.stalled)"
                checks["oldest_stalled_seconds"] = stalls.oldestSeconds.map { String(Int($0)) } ?? "none"
            }
            return try JSONResponse.make(.ok, HealthResponse(status: "ready", checks: checks))
        } catch {
            context.logger.warning("readiness check failed", metadata: ["error": "\(String(reflecting: error))"])
            return try JSONResponse.make(.serviceUnavailable, HealthResponse(status: "unavailable", checks: ["store": "unreachable"]))
        }
    }

    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        // Queue depth and age are read at scrape time (one grouped query), so they are current in
        // every process that serves /metrics, whichever process runs the workers.
        do {
            QueueMetrics(registry: registry).record(try await queue.stats(queues: PipelineJobs.serviceQueues))
            let stalls = try await Lifecycle.stallStats(store: store)
            registry.makeGauge(descriptor: .init(
                metricName: "pipeline_stalled_repositories", unitName: "count",
                helpText: "Repositories processing or refreshing with no unfinished stage job (0 while the lifecycle's invariant holds)")
            ).set(Double(stalls.stalled))
            registry.makeGauge(descriptor: .init(
                metricName: "pipeline_oldest_stall", unitName: "seconds", helpText: "Seconds since the longest-stalled repository last changed (0: none)")
            ).set(stalls.oldestSeconds ?? 0)
        } catch {
            context.logger.warning("queue statistics unavailable for /metrics", metadata: ["error": "\(String(reflecting: error))"])
        }
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func openAPI(_ request: Request, context: AppRequestContext) async throws -> Response {
        JSONResponse.make(.ok, data: OpenAPIDocument.data)
    }
}
