// swift-tools-version:6.1
// libFuzzer harness for ECDHTTP's request parser, kept out of the main package so that a normal
// `swift build` never needs the fuzzer runtime. Sources/ECDHTTP and its two small dependencies
// (ECDSync, ECDText) are symlinks to the real targets.
// Run it with ../scripts/fuzz-http.sh.
import PackageDescription

let package = Package(
    name: "FuzzHTTP",
    targets: [
        .systemLibrary(name: "ECDCEpoll", path: "Sources/ECDCEpoll"),
        .target(name: "ECDSync", path: "Sources/ECDSync"),
        .target(name: "ECDText", path: "Sources/ECDText"),
        .target(name: "ECDHTTP", dependencies: ["ECDCEpoll", "ECDSync", "ECDText"], path: "Sources/ECDHTTP"),
        .executableTarget(name: "FuzzHTTPParser", dependencies: ["ECDHTTP"], path: "Sources/FuzzHTTPParser"),
    ],
    swiftLanguageModes: [.v6]
)
