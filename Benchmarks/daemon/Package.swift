// swift-tools-version:6.1
// BenchSeed, for scripts/bench-daemon.sh: fills a daemon database with valid active accounts
// (rows in the daemon's own schema, secrets sealed with its keyring) far faster than Cronofy's
// callbacks could. Its own package, so the main build never compiles it. The root package exports
// only `ecd` and `ECDHTTP` as products, so the two targets it needs are symlinks to the real
// sources (like Benchmarks/http), compiled here exactly as the daemon compiles them.
import PackageDescription

let package = Package(
    name: "BenchDaemon",
    targets: [
        .systemLibrary(name: "ECDCSQLite", path: "Sources/ECDCSQLite", pkgConfig: "sqlite3"),
        .systemLibrary(name: "ECDCOpenSSL", path: "Sources/ECDCOpenSSL", pkgConfig: "libcrypto"),
        .target(name: "ECDSQLite", dependencies: ["ECDCSQLite"], path: "Sources/ECDSQLite"),
        .target(name: "ECDCrypto", dependencies: ["ECDCOpenSSL"], path: "Sources/ECDCrypto"),
        .executableTarget(name: "BenchSeed", dependencies: ["ECDSQLite", "ECDCrypto"], path: "Sources/BenchSeed"),
    ],
    swiftLanguageModes: [.v6]
)
