// swift-tools-version:6.1
// libFuzzer harness for ECDHTTP's request parser, kept out of the main package so that a normal
// `swift build` never needs the fuzzer runtime. Sources/ECDHTTP is a symlink to the real target.
// Run it with ../scripts/fuzz-http.sh.
import PackageDescription

let package = Package(
    name: "FuzzHTTP",
    targets: [
        .systemLibrary(name: "ECDCEpoll", path: "Sources/ECDCEpoll"),
        .target(name: "ECDHTTP", dependencies: ["ECDCEpoll"], path: "Sources/ECDHTTP"),
        .executableTarget(name: "FuzzHTTPParser", dependencies: ["ECDHTTP"], path: "Sources/FuzzHTTPParser"),
    ],
    swiftLanguageModes: [.v6]
)
