import Domain
import Egress
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import Pipeline
import Prometheus
import Queue
import ServiceLifecycle
import Settings
import Store

/// Builds the HTTP application: routes, middleware, and the services it runs beside the server.
///
/// Used by `repowatch serve`/`api` and by every test, so tests exercise exactly what runs in production.
/// - Parameters:
///   - settings: resolved configuration.
///   - store: the store; it is also run as the first service, so it starts before the server and stops after it.
///   - queue: the job queue in that store (enqueues from the API, admin routes, queue metrics). The pipeline's
///     finish hooks are installed on it here, so an administrator's cancel or delete of a stage's job
///     reconciles its repository.
///   - registry: where metrics go (shared with the other roles of the process).
///   - migrations: brings the schema up to date before the server accepts a request (runs as the second service).
///   - services: further services to run beside the server (workers, scheduler), in dependency order.
///   - tokens: seals repository tokens given with entries; nil refuses tokens.
public func buildApplication(
    settings: Settings,
    store: any Store,
    queue: JobQueue,
    registry: PrometheusCollectorRegistry,
    migrations: MigrationService,
    services: [any Service] = [],
    tokens: TokenCipher? = nil,
    logger: Logger
) -> Application<RouterResponder<AppRequestContext>> {
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Order: metrics outermost (it sees the final status), then gzip (error answers too), then errors → JSON.
    router.add(middleware: MetricsMiddleware(registry: registry))
    router.add(middleware: CompressionMiddleware())
    router.add(middleware: ErrorMiddleware())

    let lifecycle = Lifecycle(queue: queue, schedule: CheckSchedule(settings: settings))
    let queue = lifecycle.installed(on: queue)
    SystemController(store: store, queue: queue, registry: registry, settings: settings).addRoutes(to: router)

    // Live status: one listener per process wakes the streams of what changed, whichever process changed it.
    let liveUpdates = LiveUpdates(store: store, slowClientTimeout: settings.liveSlowClientTimeout, migrations: migrations, logger: logger)
    var service = WatchlistService(store: store, lifecycle: lifecycle, queue: queue, settings: settings, tokens: tokens)
    service.entryDeleted = { liveUpdates.wake(entries: [$0]) }
    let auth = AuthMiddleware(store: store, cache: CallerCache(ttl: .seconds(settings.keyCacheSeconds)))
    let v1 = router.group("v1").add(middleware: auth)
    // Status answers are cached while they are current: exact on PostgreSQL while the invalidator
    // listens (it runs as a service), and on SQLite while this process has written nothing since.
    let statusCache = StatusCache(
        store: store, maxAge: .milliseconds(settings.statusCacheMilliseconds), enabled: !store.supportsNotifications)
    let cacheServices: [any Service] =
        store.supportsNotifications && settings.statusCacheMilliseconds > 0
        ? [StatusCacheInvalidator(store: store, cache: statusCache, logger: logger)] : []
    WatchlistController(service: service, statusCache: statusCache).addRoutes(to: v1)
    let live = LiveController(service: service, live: liveUpdates, heartbeat: settings.liveHeartbeat)
    live.addRoutes(to: v1)
    RepositoryController(store: store, settings: settings).addRoutes(to: v1)
    JobsController(queue: queue, settings: settings).addRoutes(to: v1)
    EventsController(store: store, settings: settings).addRoutes(to: v1)
    WebhooksController(store: store, queue: queue, settings: settings, secrets: tokens, egress: EgressPolicy(hosts: settings.webhooks.hosts))
        .addRoutes(to: v1)
    let activity = router.group("activity").add(middleware: auth)
    SeedController(service: service).addRoutes(to: activity)

    // The dashboard at /: pages behind a session cookie (never accepted by /v1), errors as pages.
    let pages = DashboardPages()
    let session = DashboardSession(store: store, settings: settings)
    let signedIn = router.group().add(middleware: SessionMiddleware(session: session, pages: pages))
        .add(middleware: DashboardErrorMiddleware(pages: pages))
    DashboardController(service: service, session: session, pages: pages, live: live)
        .addRoutes(to: router, signedIn: signedIn)
    BadgeController(store: store, settings: settings, pages: pages).addRoutes(to: router)

    var app = Application(
        router: router,
        // HTTP/1.1, and the WebSocket upgrade of the live status route (the same router decides, behind the same auth).
        // A connection's first request head must end within http.idle_timeout (RequestHeadDeadlineChannel).
        server: .http1WebSocketUpgrade(
            webSocketRouter: router,
            configuration: .init(
                http1: .init(idleTimeout: .nanoseconds(Int64(settings.httpIdleTimeout.seconds * 1e9))),
                ws: .init(maxFrameSize: 1 << 16, autoPing: .enabled(timePeriod: settings.liveHeartbeat))),
            headDeadline: .nanoseconds(Int64(settings.httpIdleTimeout.seconds * 1e9))),
        configuration: .init(
            address: .hostname(settings.httpHost, port: settings.httpPort), serverName: "repowatch",
            // Past the cap, connections wait in the kernel's backlog: slow or idle clients cannot take the
            // process's file descriptors and memory without bound (with http.idle_timeout closing idle ones).
            availableConnectionsDelegate: MaximumAvailableConnections(settings.httpMaxConnections)),
        services: [store, migrations] + services + cacheServices + [liveUpdates],
        logger: logger
    )
    // The store runs as a service started before the server; no request is accepted before its schema is current.
    app.beforeServerStarts {
        try await migrations.waitUntilDone()
    }
    return app
}
