// swift-tools-version:6.2
import PackageDescription

// One settings array for every target (the style of Hummingbird's own Package.swift).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "repowatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "repowatch", targets: ["repowatch"]),
        .executable(name: "queue-bench", targets: ["QueueBench"]),
        .executable(name: "history-bench", targets: ["HistoryBench"]),
        .executable(name: "backfill-bench", targets: ["BackfillBench"]),
        .executable(name: "recheck-bench", targets: ["RecheckBench"]),
        .executable(name: "repowatch-scorecard", targets: ["repowatch-scorecard"]),
        .executable(name: "alert-bench", targets: ["AlertBench"]),
        .executable(name: "dashboard-bench", targets: ["DashboardBench"]),
        .executable(name: "window-check", targets: ["WindowCheck"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // The live status stream over WebSocket (GET /v1/watchlist/{id}/ws), beside Server-Sent Events.
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // Already in the graph through Hummingbird; the API tests use it to send many requests at once.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Runs `git` as a child process (process groups, timeouts, clean environment) without blocking Swift's threads.
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        // The dashboard's templates: logic-less, and `{{value}}` is HTML-escaped (the templates never use the raw forms).
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // gzip for the dashboard's pages and the API's answers (zlib; already in the graph through swift-websocket).
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // The pipeline, in the order an entry travels through it.
        // Domain: what a watchlist entry and a repository are; URL canonicalisation; the state machine. No I/O.
        .target(
            name: "Domain",
            dependencies: [],
            swiftSettings: swiftSettings
        ),
        // Settings: layered configuration (config/repowatch.yaml < environment < flags), validated at start.
        .target(
            name: "Settings",
            dependencies: [
                "Domain",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Store: the only source of truth. One interface, SQLite and PostgreSQL implementations, migrations.
        .target(
            name: "Store",
            dependencies: [
                "Domain",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // For ConnectionPoolError only: what PostgresClient throws when it cannot get a connection.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Queue: the durable job queue in the same database: enqueue in a transaction, leased claims,
        // retries, rescue, workers and the leader-elected periodic scheduler.
        .target(
            name: "Queue",
            dependencies: [
                "Domain", "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pipeline: the one owner of a repository's lifecycle: the stage jobs and what they carry, the
        // state machine's transitions, and the level-triggered reconciliation that restores its invariant.
        .target(
            name: "Pipeline",
            dependencies: [
                "Domain", "Store", "Queue",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // GitTransport: shallow clone / fetch / ls-remote with the `git` command line, safe with untrusted
        // repositories (no hooks, no host config, no symlinks followed, token only in the environment, caps).
        .target(
            name: "GitTransport",
            dependencies: [
                "Domain",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // CLibGit2: Debian's libgit2 (1.5) as a system library; shim.h wraps the variadic calls Swift cannot import.
        .systemLibrary(
            name: "CLibGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        // GitHistory: reads a clone's history (commits, authors, dates, diff stats) with libgit2 or the git CLI.
        .target(
            name: "GitHistory",
            dependencies: [
                "CLibGit2",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: swiftSettings
        ),
        // Egress: the one gate of every outgoing connection: the host allowlist, the resolved addresses
        // (no loopback/private unless internal), and the pin that keeps the connection on what was checked.
        .target(
            name: "Egress",
            dependencies: ["Domain"],
            swiftSettings: swiftSettings
        ),
        // Ingestion: the repository-setup, commit-backfill and repository-cleanup handlers, and the clone cache:
        // clone or fetch (GitTransport), read the window's history (GitHistory), store it resumably.
        .target(
            name: "Ingestion",
            dependencies: [
                "Domain", "Egress", "Store", "Queue", "Pipeline", "GitTransport", "GitHistory",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Scorecard: OpenSSF Scorecard's JSON v2 result, the check-to-risk weights and the aggregate; the tolerant
        // parser and the runner (the configured scorecard command as a child in its own process group, with caps).
        .target(
            name: "Scorecard",
            dependencies: [
                "Domain",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Analysis: the health-analysis handler: Scorecard (cached by head, command and version), then the health report.
        .target(
            name: "Analysis",
            dependencies: [
                "Domain", "Store", "Queue", "Pipeline", "Ingestion", "Scorecard",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // ScorecardChecks: the 11 file-based checks of OpenSSF Scorecard's local mode, run offline on a clone
        // (files walked without following symlinks, workflows parsed with Yams): the bundled `repowatch-scorecard`.
        .target(
            name: "ScorecardChecks",
            dependencies: [
                "Scorecard",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // `repowatch-scorecard`: a Scorecard-compatible command for local mode (`--local=DIR --format=json`).
        .executableTarget(
            name: "repowatch-scorecard",
            dependencies: [
                "ScorecardChecks", "Scorecard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Webhooks: alerts to users' endpoints: Standard Webhooks signatures, the message formats, the sender (through
        // Egress, pinned, timed out, no redirects, capped) and the webhook-delivery job's handler with its log.
        .target(
            name: "Webhooks",
            dependencies: [
                "Domain", "Store", "Queue", "Pipeline", "Egress",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Dashboard: the pages people look at — templates (Templates/, compiled into the binary), the SVG charts and
        // badges, the stylesheet and the few lines of script. Rendering only: no I/O; the API target serves them.
        .target(
            name: "Dashboard",
            dependencies: [
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [
                .embedInCode("Templates/layout.mustache"),
                .embedInCode("Templates/sign-in.mustache"),
                .embedInCode("Templates/watchlist.mustache"),
                .embedInCode("Templates/row.mustache"),
                .embedInCode("Templates/row-fragment.mustache"),
                .embedInCode("Templates/repository.mustache"),
                .embedInCode("Templates/confirm-delete.mustache"),
                .embedInCode("Templates/admin.mustache"),
                .embedInCode("Templates/message.mustache"),
                .embedInCode("Templates/alert-fields.mustache"),
                .embedInCode("Templates/line-chart.mustache"),
                .embedInCode("Templates/bar-chart.mustache"),
                .embedInCode("Templates/badge.mustache"),
                .embedInCode("Assets/dashboard.css"),
                .embedInCode("Assets/live.js"),
            ],
            swiftSettings: swiftSettings
        ),
        // API: the HTTP surface (Hummingbird): routes, authentication, errors, metrics, OpenAPI document, and the
        // dashboard's pages (behind a session cookie, never on /v1).
        .target(
            name: "API",
            dependencies: [
                "Domain", "Store", "Settings", "Queue", "Pipeline", "Analysis", "Egress", "Webhooks", "Dashboard",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // CLI: the `repowatch` subcommands, assembling the roles into a ServiceGroup.
        .target(
            name: "CLI",
            dependencies: [
                "Domain", "Egress", "Settings", "Store", "Queue", "Pipeline", "API", "Ingestion", "GitTransport", "GitHistory", "Scorecard", "Analysis",
                "Webhooks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "repowatch",
            dependencies: ["CLI"],
            swiftSettings: swiftSettings
        ),

        // Shared by the test targets: a fresh store per test on each engine, a live server.
        .target(
            name: "TestSupport",
            dependencies: [
                "Store", "Settings", "Domain", "API",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        // Real git repositories for tests and benchmarks: generated with `git fast-import`, cloned shallow, and
        // served by a smart-HTTP git server (git-http-backend as CGI behind Hummingbird) on loopback.
        .target(
            name: "GitFixtures",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            path: "Tests/GitFixtures",
            swiftSettings: swiftSettings
        ),
        // `history-bench`: GitHistory's readers against `git log --numstat` on a generated 10 000-commit repository.
        .executableTarget(
            name: "HistoryBench",
            dependencies: ["GitHistory", "GitFixtures"],
            path: "Benchmarks/HistoryBench",
            swiftSettings: swiftSettings
        ),
        // `make bench`: a whole backfill into SQLite and PostgreSQL beside `git log --numstat` and PyDriller.
        .executableTarget(
            name: "BackfillBench",
            dependencies: [
                "Ingestion", "Pipeline", "GitHistory", "GitTransport", "GitFixtures", "Store", "Domain", "Queue",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            path: "Benchmarks/BackfillBench",
            swiftSettings: swiftSettings
        ),
        // `make bench`: a re-check of an unchanged repository against its first setup; the scheduler's pass.
        .executableTarget(
            name: "RecheckBench",
            dependencies: [
                "Analysis", "Ingestion", "Scorecard", "Queue", "Pipeline", "Store", "Domain", "GitFixtures", "GitHistory", "GitTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/RecheckBench",
            swiftSettings: swiftSettings
        ),
        // `make bench`: the time from a report's commit to its webhook's receipt, on both engines.
        .executableTarget(
            name: "AlertBench",
            dependencies: [
                "Domain", "Egress", "Store", "Queue", "Pipeline", "Webhooks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/AlertBench",
            swiftSettings: swiftSettings
        ),
        // `make bench`: time to first byte and size of the dashboard's watchlist (500 entries) and repository page (1 000
        // commits, 100 reports), seeded through the store and the pipeline, served by the real binary, on both engines.
        .executableTarget(
            name: "DashboardBench",
            dependencies: [
                "Domain", "Store", "Queue", "Pipeline", "Scorecard", "Settings", "TestSupport", "GitFixtures",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/DashboardBench",
            swiftSettings: swiftSettings
        ),
        // `make bench`: the history window of RepoWatch's clone against `git log --since` and a plain shallow clone.
        .executableTarget(
            name: "WindowCheck",
            dependencies: [
                "GitTransport", "GitFixtures",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/WindowCheck",
            swiftSettings: swiftSettings
        ),
        // `make bench`: the job queue's throughput and claim latency on both engines.
        .executableTarget(
            name: "QueueBench",
            dependencies: [
                "Queue", "Store", "Domain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/QueueBench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "QueueTests",
            dependencies: [
                "Queue", "Store", "Domain", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The repository lifecycle on both engines, with the stages played by the tests (every order of endings).
        .testTarget(
            name: "PipelineTests",
            dependencies: ["Pipeline", "Queue", "Store", "Domain", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GitTransportTests",
            dependencies: [
                "GitTransport", "GitFixtures", "Domain",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IngestionTests",
            dependencies: [
                "Ingestion", "Egress", "GitTransport", "GitHistory", "GitFixtures", "Store", "Queue", "Pipeline", "Domain", "TestSupport", "Analysis", "Scorecard",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "TestSupport", "GitFixtures", "Store", "Queue", "Pipeline", "Domain",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "GitHistoryTests",
            dependencies: ["GitHistory", "GitFixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScorecardChecksTests",
            dependencies: ["ScorecardChecks", "Scorecard"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "DomainTests", dependencies: ["Domain"], swiftSettings: swiftSettings),
        .testTarget(name: "EgressTests", dependencies: ["Egress", "Domain"], swiftSettings: swiftSettings),
        // Webhook deliveries against receivers the tests start on loopback: signatures, retries, timeouts, refusals.
        .testTarget(
            name: "WebhooksTests",
            dependencies: [
                "Webhooks", "Egress", "Domain", "Store", "Queue", "Pipeline", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The parser on real Scorecard outputs (Fixtures/) and the runner against fake `scorecard` scripts.
        .testTarget(
            name: "ScorecardTests",
            dependencies: [
                "Scorecard",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        // The dashboard's rendering alone: escaping by construction, charts, badges.
        .testTarget(
            name: "DashboardTests",
            dependencies: ["Dashboard", .product(name: "Mustache", package: "swift-mustache")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SettingsTests", dependencies: ["Settings", "Domain"], swiftSettings: swiftSettings),
        .testTarget(
            name: "StoreTests",
            dependencies: [
                "Store", "Domain", "Queue", "Pipeline", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "APITests",
            dependencies: [
                "API", "Store", "Settings", "Domain", "Queue", "Pipeline", "TestSupport", "Dashboard",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
