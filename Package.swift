// swift-tools-version:6.1
// ecd — the Enterprise Connect daemon. Target graph: docs/design/architecture.md §1 (and README
// "Source layout"). ECDHTTP imports nothing of ours but ECDSync and ECDText (a lock, JSON text); ECDSimulator shares no code with ECDCronofy or
// ECDCore, so a misreading of Cronofy's API cannot be mirrored by the simulator. The one exception
// is ECDHTTPClient, which both use: transport only, with no knowledge of Cronofy's API.
import PackageDescription

let package = Package(
    name: "ecd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ecd", targets: ["ecd"]),
        .library(name: "ECDHTTP", targets: ["ECDHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C interop: system libraries through module maps.
        .systemLibrary(
            name: "ECDCSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "ECDCLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "ECDCOpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),

        // The package's one lock type (`Locked`, a pthread mutex so ThreadSanitizer sees it), its
        // condition and threads (`Condition`, `OSThread`), its one writer of JSON strings and
        // decimal numbers (`JSONText`) and the string edits Foundation gave (`TextEdits.swift`):
        // the daemon's modules import only FoundationEssentials (issue 14, idle memory).
        .target(name: "ECDSync"),
        .target(name: "ECDText"),

        // Reusable HTTP/1.1 server on POSIX sockets + epoll. Imports nothing of ours but its
        // tiny epoll/eventfd/accept4 shim (SwiftGlibc does not import those), ECDSync and ECDText.
        .systemLibrary(name: "ECDCEpoll"),
        .target(name: "ECDHTTP", dependencies: ["ECDCEpoll", "ECDSync", "ECDText"]),

        // Thin wrappers over the C libraries.
        .target(name: "ECDSQLite", dependencies: ["ECDCSQLite", "ECDText"]),
        .target(name: "ECDCrypto", dependencies: ["ECDCOpenSSL"]),
        // PostgreSQL through libpq (issue 16): pool, prepared statements, LISTEN/NOTIFY.
        .target(name: "ECDPostgres", dependencies: ["ECDCLibPQ", "ECDSync", "ECDText"]),
        // The core's PostgreSQL schema (the twin of ECDCore's SQLite schema), the schema comparison
        // both are held to, and the copy of a SQLite database into PostgreSQL (`ecd migrate-storage`).
        .target(name: "ECDCorePostgres", dependencies: ["ECDPostgres", "ECDSQLite", "ECDText"]),
        // Not shipped: the crash-test child (kill -9 during commits) and the SQLite benchmark.
        .executableTarget(name: "ECDSQLiteTool", dependencies: ["ECDSQLite"]),

        // The package's HTTP/1.1 client on OpenSSL (`HTTPClient`: TLS verified, hard deadlines,
        // keep-alive), shared by every outbound HTTP caller; it replaced URLSession so that the
        // daemon loads neither FoundationNetworking nor libcurl (issue 14, idle memory).
        .target(name: "ECDHTTPClient", dependencies: ["ECDCOpenSSL", "ECDSync"]),

        // Cronofy API client.
        .target(name: "ECDCronofy", dependencies: ["ECDHTTPClient", "ECDSync", "ECDText"]),

        // The service layer.
        .target(
            name: "ECDCore",
            dependencies: [
                "ECDCronofy", "ECDSQLite", "ECDPostgres", "ECDCrypto", "ECDSync", "ECDText",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),

        // The Cronofy simulator (docs/design/api-contract.md §8), built on ECDHTTP.
        .target(
            name: "ECDSimulator",
            dependencies: ["ECDHTTP", "ECDCrypto", "ECDCOpenSSL", "ECDHTTPClient", "ECDSync", "ECDText"]
        ),

        // Configuration, routes, logging, metrics, lifecycle, commands.
        .target(
            name: "ECDApp",
            dependencies: [
                "ECDHTTP", "ECDCore", "ECDCorePostgres", "ECDCronofy", "ECDSQLite", "ECDPostgres", "ECDCrypto", "ECDSimulator",
                "ECDHTTPClient", "ECDSync", "ECDText",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(name: "ecd", dependencies: ["ECDApp"]),

        // What every test target shares (no shipped target depends on it): the raw HTTP client,
        // socket addresses, `eventually`, `onOwnThread`, `HTTPRequest.make` and running a router
        // on it, the canned and recording servers, the scripted recorder behind the recording
        // transports, the log capture, child processes handed listening sockets, a private
        // PostgreSQL server (libpq only for its readiness probe and setup statements).
        .target(
            name: "ECDTestSupport",
            dependencies: ["ECDHTTP", "ECDCLibPQ", "ECDSync", .product(name: "Logging", package: "swift-log")],
            path: "Tests/ECDTestSupport"),

        .testTarget(name: "ECDHTTPTests", dependencies: ["ECDHTTP", "ECDSync", "ECDText", "ECDTestSupport"]),
        .testTarget(name: "ECDSQLiteTests", dependencies: ["ECDSQLite", "ECDSQLiteTool", "ECDTestSupport"]),
        .testTarget(name: "ECDPostgresTests", dependencies: ["ECDPostgres", "ECDTestSupport"]),
        .testTarget(
            name: "ECDCorePostgresTests",
            dependencies: ["ECDCorePostgres", "ECDCore", "ECDCrypto", "ECDPostgres", "ECDSQLite", "ECDTestSupport"]
        ),
        .testTarget(name: "ECDCryptoTests", dependencies: ["ECDCrypto"]),
        .testTarget(name: "ECDCronofyTests", dependencies: ["ECDCronofy", "ECDHTTPClient", "ECDTestSupport"]),
        .testTarget(name: "ECDSimulatorTests", dependencies: ["ECDSimulator", "ECDHTTP", "ECDTestSupport"]),
        .testTarget(
            name: "ECDCoreTests",
            dependencies: [
                "ECDCore", "ECDCorePostgres", "ECDSimulator", "ECDHTTP", "ECDCronofy", "ECDCrypto", "ECDSQLite", "ECDPostgres",
                "ECDSync", "ECDTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ECDAppTests",
            dependencies: [
                "ECDApp", "ECDCore", "ECDCronofy", "ECDHTTP", "ECDSimulator", "ECDSQLite", "ECDPostgres", "ECDSync", "ECDTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
