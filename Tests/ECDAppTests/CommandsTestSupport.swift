import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `ecd` executable, as a user would.
enum ECDBinary {
    struct Result {
        let code: Int32
        let stdout: String
        let stderr: String
    }

    /// `ecd` sits next to the test bundle in the build products folder (`.build*/debug/`).
    static var url: URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        // On some layouts the xctest is a bundle folder: `.../debug/ecdPackageTests.xctest/Contents/...`.
        while !folder.path.isEmpty, folder.path != "/" {
            let candidate = folder.appendingPathComponent("ecd")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return testBinary.deletingLastPathComponent().appendingPathComponent("ecd")
    }

    struct Timeout: Error, CustomStringConvertible { let description: String }

    /// Runs `ecd arguments` in `directory` with exactly `environment` (no inherited ECD_* variables),
    /// `input` (if any) as its standard input.
    /// The wait suspends instead of blocking (see `ProcessExit`), and a child still running after
    /// `limit` is killed so a hang fails its test instead of the whole run.
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
                    input: String? = nil, limit: Duration = .seconds(120)) async throws -> Result {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let outPath = folder.url.appendingPathComponent("out").path
        let errPath = folder.url.appendingPathComponent("err").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { mine, _ in mine }
        process.currentDirectoryURL = directory ?? folder.url
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        if let input {
            let inPath = folder.url.appendingPathComponent("in").path
            _ = FileManager.default.createFile(atPath: inPath, contents: Data(input.utf8))
            process.standardInput = FileHandle(forReadingAtPath: inPath)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        guard let code = await ProcessExit.wait(for: process, limit: limit) else {
            throw Timeout(description: "ecd \(arguments.joined(separator: " ")) still running after \(limit); killed")
        }
        return Result(
            code: code,
            stdout: try String(contentsOfFile: outPath, encoding: .utf8),
            stderr: try String(contentsOfFile: errPath, encoding: .utf8))
    }
}

/// Waiting for a child process without holding a thread of Swift concurrency's cooperative pool
/// (2 threads on 2 cores): `Process.waitUntilExit()` there would stall every other test in the
/// process for as long as the child runs.
enum ProcessExit {
    /// The exit status once `process` has exited, polling with `Task.sleep`; `nil` when it was
    /// still running after `limit` (it is then killed with SIGKILL and reaped).
    static func wait(for process: Process, limit: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
                return nil
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        // Not running any more: this returns at once and makes the status final.
        process.waitUntilExit()
        return process.terminationStatus
    }
}
