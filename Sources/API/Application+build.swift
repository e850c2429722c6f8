import Domain
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import Settings
import Store

/// Builds the HTTP application: routes, middleware, and the services it runs beside the server.
///
/// Used by `repowatch serve`/`api` and by every test, so tests exercise exactly what runs in production.
/// - Parameters:
///   - settings: resolved configuration.
///   - store: the store; it is also run as the first service, so it starts before the server and stops after it.
///   - registry: where metrics go (shared with the other roles of the process).
///   - services: further services to run beside the server (workers, scheduler), in dependency order.
public func buildApplication(
    settings: Settings,
    store: any Store,
    registry: PrometheusCollectorRegistry,
    services: [any Service] = [],
    logger: Logger
) -> Application<RouterResponder<AppRequestContext>> {
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Order: metrics outermost (it sees the final status), then errors → JSON.
    router.add(middleware: MetricsMiddleware(registry: registry))
    router.add(middleware: ErrorMiddleware())

    SystemController(store: store, registry: registry).addRoutes(to: router)

    let service = WatchlistService(store: store, settings: settings)
    let auth = AuthMiddleware(store: store, cache: CallerCache(ttl: .seconds(settings.keyCacheSeconds)))
    let v1 = router.group("v1").add(middleware: auth)
    WatchlistController(service: service).addRoutes(to: v1)
    let activity = router.group("activity").add(middleware: auth)
    SeedController(service: service).addRoutes(to: activity)

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(settings.httpHost, port: settings.httpPort), serverName: "repowatch"),
        services: [store] + services,
        logger: logger
    )
    // The store is running by now (it is a service started before the server); bring its schema up to date
    // before the first request is accepted.
    app.beforeServerStarts {
        try await store.waitUntilReachable()
        try await store.migrate(logger: logger)
    }
    return app
}
