// swift-tools-version:6.1
// A tiny server for scripts/bench-http.sh: ECDHTTP serving a small JSON on the route shape of the
// token endpoint. Its own package (Sources/ECDHTTP and its two small dependencies, ECDSync and
// ECDText, are symlinks to the real targets), so the main build never compiles it.
import PackageDescription

let package = Package(
    name: "BenchHTTP",
    targets: [
        .systemLibrary(name: "ECDCEpoll", path: "Sources/ECDCEpoll"),
        .target(name: "ECDSync", path: "Sources/ECDSync"),
        .target(name: "ECDText", path: "Sources/ECDText"),
        .target(name: "ECDHTTP", dependencies: ["ECDCEpoll", "ECDSync", "ECDText"], path: "Sources/ECDHTTP"),
        .executableTarget(name: "BenchHTTPServer", dependencies: ["ECDHTTP"], path: "Sources/BenchHTTPServer"),
    ],
    swiftLanguageModes: [.v6]
)
