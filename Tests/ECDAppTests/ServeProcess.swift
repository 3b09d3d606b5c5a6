import ECDSimulator
import ECDTestSupport
import Foundation
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// A real `ecd serve` child process against an in-process simulator, reached over loopback TCP
/// like any client would. Both its listening sockets are bound here and passed to it as systemd's
/// socket activation passes them, so its ports are known before it starts (Cronofy's callbacks
/// and the connect redirect need `public.base_url`) and nobody can take them in between.
final class ServeProcess: DaemonClient, @unchecked Sendable {
    static let apiKey = "daemon-test-key-0123456789abcdefghij0123456789"

    let process: RunningECD
    let publicPort: Int
    let internalPort: Int

    private init(process: RunningECD, publicPort: Int, internalPort: Int) {
        self.process = process
        self.publicPort = publicPort
        self.internalPort = internalPort
    }

    /// Starts `ecd serve` on `database` (inside `folder`'s environment) and waits for its
    /// "listening" line. `without` names variables of the standard environment to leave out (say,
    /// the inline keyring when `extra` names a keyring file instead).
    static func start(folder: TemporaryFolder, database: String, simulator: CronofySimulator,
                      extra: [String: String] = [:], without: [String] = []) async throws -> ServeProcess {
        let publicSocket = try PassedSocket.loopback()
        defer { close(publicSocket.fd) }
        let internalSocket = try PassedSocket.loopback()
        defer { close(internalSocket.fd) }
        var environment = DaemonEnvironment.make(folder, extra: [
            "ECD_CRONOFY_API_URL": simulator.baseURL.absoluteString,
            "ECD_CRONOFY_APP_URL": simulator.baseURL.absoluteString,
            "ECD_PUBLIC_LISTEN": "127.0.0.1:\(publicSocket.port)",
            "ECD_PUBLIC_BASE_URL": "http://127.0.0.1:\(publicSocket.port)",
            "ECD_INTERNAL_LISTEN": "127.0.0.1:\(internalSocket.port)",
            "ECD_STORAGE_PATH": database,
        ].merging(extra) { _, new in new })
        for name in without { environment[name] = nil }
        let process = try RunningECD(["serve"], environment: environment, sockets: [
            .init(name: "public", fd: publicSocket.fd), .init(name: "internal", fd: internalSocket.fd),
        ])
        _ = try await process.waitForError { $0.contains("\"msg\":\"listening\"") }
        return ServeProcess(process: process, publicPort: publicSocket.port, internalPort: internalSocket.port)
    }

    func internalAPI(_ method: String, _ target: String, json: String?) async throws -> RawResponse {
        var headers = [("Authorization", "Bearer \(Self.apiKey)")]
        if json != nil { headers.append(("Content-Type", "application/json")) }
        return try await RawHTTP.send(.tcp(port: internalPort), method, target, headers: headers, body: json.map { Array($0.utf8) })
    }

    func publicRequest(_ method: String, _ target: String, headers: [(String, String)], body: [UInt8]?) async throws -> RawResponse {
        try await RawHTTP.send(.tcp(port: publicPort), method, target, headers: headers, body: body)
    }

    /// The value of one Prometheus sample of `/metrics` (0 when absent).
    func metric(_ sample: String) async throws -> Double {
        let text = try await internalAPI("GET", "/metrics", json: nil).text
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1)) ?? 0
        }
        return 0
    }

    /// SIGTERM and the exit status (-1 when it had to be killed).
    func stop() async -> Int32 {
        await process.terminate(signal: SIGTERM)
    }
}

extension CronofySimulator {
    /// A simulator on a free loopback port that sends callbacks 5 ms after an approval, started;
    /// the one setup every daemon test (in-process or child process) begins with.
    static func startedForTests(_ tune: (inout SimulatorConfiguration) -> Void = { _ in }) throws -> CronofySimulator {
        var configuration = SimulatorConfiguration()
        configuration.listen = .tcp(host: "127.0.0.1", port: 0)
        configuration.callbackDelay = .milliseconds(5)
        tune(&configuration)
        let simulator = CronofySimulator(configuration: configuration)
        try simulator.start()
        return simulator
    }
}
