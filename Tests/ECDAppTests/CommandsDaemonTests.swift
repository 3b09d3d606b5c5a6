import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// The subcommands that run ecd's own machinery for a while: simulator, serve, demo.
@Suite("ecd daemon commands", .serialized)
struct CommandsDaemonTests {
    @Test("the daemon subcommands are listed by --help")
    func help() async throws {
        let result = try await ECDBinary.run(["--help"])
        for name in ["serve", "demo", "simulator"] {
            #expect(result.stdout.contains("  \(name) "), "\(name) missing")
        }
        #expect(try await ECDBinary.run(["simulator", "--help"]).stdout.contains("--sign-callbacks"))
    }

    @Test("simulator starts, answers, logs requests without secrets, and exits 0 on SIGTERM")
    func simulator() async throws {
        let process = try RunningECD(
            ["simulator", "--listen", "127.0.0.1:0", "--token-lifetime", "60", "--log-format", "json"], environment: [:])
        let line = try await process.waitForOutput { $0.contains("listening on http://127.0.0.1:") }
        #expect(line.hasPrefix("Cronofy simulator listening on"))
        let port = try #require(Int(line.split(separator: ":").last ?? ""))
        let target = "/enterprise_connect/oauth/authorize?response_type=code&client_id=sim_client_id&state=st-SECRET-1"
            + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcb&scope=x&delegated_scope=y"
        // The command-line client is synchronous (blocking sockets): keep it off the cooperative pool.
        let response = try await onOwnThread {
            try HTTPClientConnection.exchange(
                .tcp(host: "127.0.0.1", port: port),
                request: Array("GET \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: .seconds(5))
        }
        #expect(response.status < 500)
        let logLine = try await process.waitForError { $0.contains("/enterprise_connect/oauth/authorize") }
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(logLine.utf8)) as? [String: Any])
        #expect(entry["status"] as? Int == response.status)
        #expect(entry["duration_ms"] as? Double != nil)
        #expect((entry["target"] as? String)?.contains("state=<redacted>") == true)
        #expect(!process.standardError().contains("st-SECRET-1"))
        #expect(await process.terminate(signal: SIGTERM) == 0)
    }

    @Test("simulator flags are checked before anything starts", arguments: [
        ["simulator", "--token-lifetime", "0"], ["simulator", "--listen", "nowhere"], ["simulator", "--fault", "bogus"],
    ])
    func simulatorBadFlags(_ arguments: [String]) async throws {
        let result = try await ECDBinary.run(arguments)
        #expect(result.code == 2, "\(result.stderr)")
    }

    @Test("serve listens, logs JSON lines, and drains to exit 0 on SIGTERM and SIGINT", arguments: [SIGTERM, SIGINT])
    func serve(_ signal: Int32) async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let process = try RunningECD(["serve"], environment: DaemonEnvironment.make(folder))
        let line = try await process.waitForError { $0.contains("\"msg\":\"listening\"") }
        #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil)
        let code = await process.terminate(signal: signal)
        #expect(code == 0, "stderr: \(process.standardError().split(separator: "\n").filter { !$0.hasPrefix("{") }.joined(separator: "\n"))")
        // The log's writer thread is flushed before serve exits: the last line is not lost.
        #expect(process.standardError().contains("\"msg\":\"stopped\""))
        #expect(!process.standardError().contains("daemon-test-key-0123456789abcdefghij0123456789"))
        #expect(!process.standardError().contains("sim_client_secret"))
    }

    @Test("SIGHUP makes serve reread internal.api_keys_file; clients reach it over a unix socket")
    func reloadKeysOnSIGHUP() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let keysFile = try folder.write("api_keys", "old-key-1-0123456789abcdefghij0123456789\n")
        let socket = "/tmp/ecd-hup-\(UInt32.random(in: 0...UInt32.max)).sock"
        var environment = DaemonEnvironment.make(folder, extra: [
            "ECD_INTERNAL_API_KEYS_FILE": keysFile, "ECD_INTERNAL_LISTEN": "unix:\(socket)",
        ])
        environment["ECD_INTERNAL_API_KEYS"] = nil
        let process = try RunningECD(["serve"], environment: environment)
        _ = try await process.waitForError { $0.contains("\"msg\":\"listening\"") }
        func list(_ key: String) async throws -> ECDBinary.Result {
            try await ECDBinary.run(["accounts", "list", "--url", "unix:\(socket)"], environment: ["ECD_API_KEY": key])
        }
        let first = try await list("old-key-1-0123456789abcdefghij0123456789")
        #expect(first.code == 0, "stderr: \(first.stderr)")
        let page = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any]
        #expect((page?["accounts"] as? [Any])?.isEmpty == true)
        #expect(try await list("new-key-2-0123456789abcdefghij0123456789").code == 1)
        try folder.write("api_keys", "new-key-2-0123456789abcdefghij0123456789\n")
        kill(process.pid, SIGHUP)
        _ = try await process.waitForError { $0.contains("API keys reloaded") }
        #expect(try await list("new-key-2-0123456789abcdefghij0123456789").code == 0)
        let refused = try await list("old-key-1-0123456789abcdefghij0123456789")
        #expect(refused.code == 1)
        #expect(refused.stderr.contains("HTTP 401"))
        #expect(await process.terminate(signal: SIGTERM) == 0)
        #expect(!process.standardError().contains("new-key-2-0123456789abcdefghij0123456789") && !process.standardError().contains("old-key-1-0123456789abcdefghij0123456789"))
    }

    @Test("serve with a bad configuration exits 1 before listening, naming every problem")
    func serveBadConfig() async throws {
        let result = try await ECDBinary.run(["serve"], environment: ["ECD_PUBLIC_BASE_URL": "http://example.com"])
        #expect(result.code == 1)
        // The one value given, by the environment, is named by its variable.
        for key in ["cronofy.client_id", "cronofy.client_secret", "ECD_PUBLIC_BASE_URL", "internal.api_keys", "storage.encryption_keys"] {
            #expect(result.stderr.contains("\n\(key): "), "\(key) not named")
        }
    }

    @Test("demo runs the whole flow and exits 0")
    func demo() async throws {
        let result = try await ECDBinary.run(["demo"])
        #expect(result.code == 0, "\(result.stderr)")
        #expect(result.stdout.contains("unable_to_grant_scope"))
        #expect(result.stdout.contains("account.revoked"))
    }
}

/// A long-running `ecd` whose output files can be watched while it runs. `sockets` are passed
/// to it as systemd's socket activation passes them (`SpawnedProcess`).
final class RunningECD {
    private let process: SpawnedProcess
    private let folder: TemporaryFolder
    private let outPath: String
    private let errPath: String

    init(_ arguments: [String], environment: [String: String], sockets: [SpawnedProcess.Socket] = []) throws {
        folder = try TemporaryFolder()
        outPath = folder.url.appendingPathComponent("out").path
        errPath = folder.url.appendingPathComponent("err").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process = try SpawnedProcess(
            ECDBinary.url.path, arguments, environment: environment.merging(["PATH": "/usr/bin:/bin"]) { mine, _ in mine },
            directory: folder.url.path, standardOutput: outPath, standardError: errPath, sockets: sockets)
    }

    deinit {
        // A test that failed before stopping its process: SIGKILL, which cannot be ignored or deferred.
        if process.isRunning { process.signal(SIGKILL) }
        folder.remove()
    }

    func standardOutput() -> String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    func standardError() -> String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    struct Timeout: Error, CustomStringConvertible {
        let description: String
    }

    /// The first line of standard output matching `predicate`, waiting up to 20 s.
    func waitForOutput(_ predicate: (String) -> Bool) async throws -> String {
        try await waitFor(standardOutput, predicate)
    }

    func waitForError(_ predicate: (String) -> Bool) async throws -> String {
        try await waitFor(standardError, predicate)
    }

    /// Polls the output file with `Task.sleep`: a blocking sleep here would hold one of the
    /// cooperative pool's two threads for the whole wait.
    private func waitFor(_ read: () -> String, _ predicate: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let line = read().split(separator: "\n").map(String.init).first(where: predicate) { return line }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Timeout(description: "no matching line; stdout: \(standardOutput()) stderr: \(standardError())")
    }

    var pid: Int32 { process.pid }
    var isRunning: Bool { process.isRunning }

    /// Sends `signal` and returns the exit status; a process still running after 30 s is killed
    /// and reported as -1, so a shutdown that hangs fails the test instead of hanging it.
    func terminate(signal: Int32) async -> Int32 {
        process.signal(signal)
        return await process.exitStatus(within: .seconds(30)) ?? -1
    }
}
