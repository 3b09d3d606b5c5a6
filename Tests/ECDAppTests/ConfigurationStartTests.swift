import ECDSimulator
import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// Configuration mistakes as an operator meets them: the real `ecd` binary, its exit status and
/// its exact lines on standard error.
@Suite("Configuration mistakes caught before start", .serialized)
struct ConfigurationStartTests {
    private func problemLines(_ result: ECDBinary.Result) -> [String] {
        result.stderr.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("{") }
    }

    @Test("bad JSON is named by line and column, with no follow-on \"required\" lines")
    func badJSON() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("ecd.json", """
            {
              "cronofy": {"client_id": "cid", "client_secret": "s3cret-not-shown"}
              "public": {"base_url": "https://ecd.example.com"}
            }
            """)
        let result = try await ECDBinary.run(["check-config", "--config", path])
        #expect(result.code == 1)
        #expect(problemLines(result) == [
            "ecd: configuration has 1 problem:",
            "config: \(path) is not valid JSON: line 3, column 3: expected , or } after a value (is a comma missing?)",
        ])
        #expect(!result.stderr.contains("s3cret-not-shown"))
    }

    @Test("a bad environment value names its variable; a misspelt variable or key gets the closest known one")
    func namesAndSuggestions() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let json = ConfigFixtures.minimalJSON.replacingOccurrences(
            of: #""storage": {"#, with: #""refresh": {"lead_secs": 60}, "storage": {"#)
        let path = try folder.write("ecd.json", json)
        let result = try await ECDBinary.run(["check-config", "--config", path], environment: [
            "ECD_REFRESH_LEAD_SECONDS": "soon", "ECD_LOG_LEVL": "debug",
        ])
        #expect(result.code == 1)
        #expect(problemLines(result) == [
            "ecd: configuration has 3 problems:",
            "refresh.lead_secs: unknown key; did you mean refresh.lead_seconds?",
            "ECD_LOG_LEVL: not a configuration key; did you mean ECD_LOG_LEVEL (log.level)?",
            "ECD_REFRESH_LEAD_SECONDS: must be an integer",
        ])
    }

    @Test("check-config and serve refuse a storage folder they cannot write, and two listeners on one address",
          arguments: ["check-config", "serve"])
    func refusedBeforeStart(_ command: String) async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("ecd.json", ConfigFixtures.minimalJSON)
        let file = try folder.write("a-file", "")
        let uid = getuid()
        let cases: [([String: String], String)] = [
            // /proc takes no new file, whoever asks (root included).
            (["ECD_STORAGE_PATH": "/proc/ecd-test/ecd.sqlite"],
             "ECD_STORAGE_PATH: folder /proc/ecd-test does not exist and cannot be created: /proc is not writable by this user (uid \(uid)): "),
            (["ECD_STORAGE_PATH": "\(file)/db/ecd.sqlite"],
             "ECD_STORAGE_PATH: folder \(file)/db cannot be created: \(file) is a file, not a folder"),
            (["ECD_PUBLIC_LISTEN": "127.0.0.1:18080", "ECD_INTERNAL_LISTEN": "localhost:18080"],
             "ECD_INTERNAL_LISTEN: localhost:18080 is the address of public.listen (127.0.0.1:18080) too: the two listeners need different addresses"),
        ]
        for (environment, expected) in cases {
            let result = try await ECDBinary.run([command, "--config", path], environment: environment, limit: .seconds(60))
            #expect(result.code == 1, "\(environment): \(result.stderr)")
            let lines = problemLines(result)
            #expect(lines.first == "ecd: configuration has 1 problem:", "\(environment): \(result.stderr)")
            #expect(lines.count == 2 && lines[1].hasPrefix(expected), "\(lines)")
        }
    }

    @Test("a port in use at start names the listener's key", arguments: ["public.listen", "internal.listen"])
    func portInUse(_ key: String) async throws {
        // A real listener holds the port: the simulator's.
        var configuration = SimulatorConfiguration()
        configuration.listen = .tcp(host: "127.0.0.1", port: 0)
        let holder = CronofySimulator(configuration: configuration)
        try holder.start()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let port = try #require(holder.baseURL.port)
        let result = try await ECDBinary.run(["serve"], environment: DaemonEnvironment.make(folder, extra: [
            ConfigurationKey.environmentName(of: key): "127.0.0.1:\(port)",
        ]), limit: .seconds(60))
        await holder.shutdown()
        #expect(result.code == 1)
        let last = problemLines(result).last ?? ""
        #expect(last.hasPrefix("ecd: \(key) 127.0.0.1:\(port): address in use"), "\(result.stderr)")
    }
}
