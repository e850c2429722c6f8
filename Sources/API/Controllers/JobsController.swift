import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Pipeline
import Queue
import Settings
import Store

/// `/v1/queues` and `/v1/jobs`: the job queue for operators. Admin keys only (403 otherwise).
struct JobsController {
    let queue: JobQueue
    let settings: Settings

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("queues", use: queues)
        group.get("jobs", use: list)
        group.get("jobs/{id}", use: show)
        group.post("jobs/{id}/retry", use: retry)
        group.post("jobs/{id}/cancel", use: cancel)
        group.delete("jobs/{id}", use: delete)
    }

    struct QueueResponse: Encodable {
        let queue: String
        let counts: [String: Int]
        @NullEncodable var oldest_available_age_seconds: Double?
    }

    struct JobErrorResponse: Encodable {
        let attempt: Int
        let at: Date
        let error: String
    }

    struct JobResponse: Encodable {
        let id: Int64
        let queue: String
        let kind: String
        let args: JSONValue
        @NullEncodable var unique_key: String?
        let state: String
        let priority: Int
        let attempt: Int
        let max_attempts: Int
        let run_at: Date
        @NullEncodable var lease_owner: String?
        @NullEncodable var lease_expires_at: Date?
        @NullEncodable var heartbeat_at: Date?
        let progress: Int
        @NullEncodable var progress_message: String?
        let errors: [JobErrorResponse]
        let created_at: Date
        @NullEncodable var attempted_at: Date?
        @NullEncodable var finalized_at: Date?
        let updated_at: Date

        init(_ j: JobRecord) {
            id = j.id
            queue = j.queue
            kind = j.kind
            args = JSONValue.parse(Data(j.argsJSON.utf8)) ?? .null
            unique_key = j.uniqueKey
            state = j.state.rawValue
            priority = j.priority
            attempt = j.attempt
            max_attempts = j.maxAttempts
            run_at = j.runAt
            lease_owner = j.leaseOwner
            lease_expires_at = j.leaseExpiresAt
            heartbeat_at = j.heartbeatAt
            progress = j.progress
            progress_message = j.progressMessage
            errors = j.errors.map { JobErrorResponse(attempt: $0.attempt, at: $0.at, error: $0.error) }
            created_at = j.createdAt
            attempted_at = j.attemptedAt
            finalized_at = j.finalizedAt
            updated_at = j.updatedAt
        }
    }

    struct JobListResponse: Encodable {
        let items: [JobResponse]
        @NullEncodable var next_cursor: String?
    }

    private func requireAdmin(_ context: AppRequestContext) throws {
        guard try context.requireCaller().isAdmin else { throw APIError.forbidden("the job queue is for admin keys only") }
    }

    private func jobID(_ context: AppRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw APIError.notFound("no job with id \(context.parameters.get("id") ?? "")")
        }
        return id
    }

    private func adminError(_ error: JobAdminError) -> APIError {
        switch error {
        case .notFound(let id): APIError.notFound("no job with id \(id)")
        case .conflict(let message): APIError(.conflict, code: "conflict", message)
        }
    }

    struct QueuesResponse: Encodable {
        let queues: [QueueResponse]
        let scheduler: SchedulerHealth
        let pipeline: PipelineHealth
    }

    /// GET /v1/queues: counts by state and the oldest due job's age, per queue; the re-check scheduler's
    /// health; and the repositories being worked on that nothing moves on (0 while the lifecycle's invariant holds).
    @Sendable func queues(_ request: Request, context: AppRequestContext) async throws -> Response {
        try requireAdmin(context)
        let stats = try await queue.stats(queues: PipelineJobs.serviceQueues)
        let scheduler = try await SchedulerHealth.read(store: queue.store, settings: settings)
        let pipeline = PipelineHealth(try await Lifecycle.stallStats(store: queue.store))
        return try JSONResponse.make(.ok, QueuesResponse(
            queues: stats.map { s in
                QueueResponse(
                    queue: s.queue,
                    counts: Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0.rawValue, s.counts[$0] ?? 0) }),
                    oldest_available_age_seconds: s.oldestAvailableAge)
            },
            scheduler: scheduler, pipeline: pipeline))
    }

    /// GET /v1/jobs?state=&queue=&kind=&limit=&cursor=: newest first.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        try requireAdmin(context)
        let query = request.uri.queryParameters
        var state: JobState?
        if let text = query["state"] {
            guard let s = JobState(rawValue: String(text)) else {
                throw APIError.badRequest("state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))", code: "invalid_parameter")
            }
            state = s
        }
        let limit = try Paging.limit(request, settings: settings)
        let before = try Paging.cursor(request) { text in Int64(text).flatMap { $0 > 0 ? $0 : nil } }
        let rows = try await queue.list(
            state: state, queue: query["queue"].map(String.init), kind: query["kind"].map(String.init), before: before, limit: limit + 1)
        let (items, next) = Paging.page(rows, limit: limit) { String($0.id) }
        return try JSONResponse.make(.ok, JobListResponse(items: items.map(JobResponse.init), next_cursor: next))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        try requireAdmin(context)
        let id = try jobID(context)
        guard let job = try await queue.job(id: id) else { throw APIError.notFound("no job with id \(id)") }
        return try JSONResponse.make(.ok, JobResponse(job))
    }

    /// POST /v1/jobs/{id}/retry: a finished job back to the queue, with fresh attempts (409 if not finished,
    /// or if an unfinished job holds its unique key).
    @Sendable func retry(_ request: Request, context: AppRequestContext) async throws -> Response {
        try requireAdmin(context)
        do {
            return try JSONResponse.make(.ok, JobResponse(try await queue.retry(id: try jobID(context))))
        } catch let error as JobAdminError {
            throw adminError(error)
        }
    }

    /// POST /v1/jobs/{id}/cancel: an unfinished job; a running one's lease is revoked (409 if finished).
    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        try requireAdmin(context)
        do {
            return try JSONResponse.make(.ok, JobResponse(try await queue.cancel(id: try jobID(context))))
        } catch let error as JobAdminError {
            throw adminError(error)
        }
    }

    /// DELETE /v1/jobs/{id}: 204; 409 while it runs (cancel it first).
    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        try requireAdmin(context)
        do {
            try await queue.delete(id: try jobID(context))
            return Response(status: .noContent)
        } catch let error as JobAdminError {
            throw adminError(error)
        }
    }
}
