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

/// Runs blocking work (a synchronous socket client, say) on a thread of its own, so that it
/// never occupies one of the cooperative pool's threads.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// A one-shot HTTP server on loopback TCP or a unix socket: records the request it receives and
/// answers with a canned response, so the command-line clients are tested over real sockets.
final class CannedHTTPServer: @unchecked Sendable {
    let port: Int
    let socketPath: String?
    private let fd: Int32
    private let lock = NSLock()
    private var received: String?

    init(response: String, unixPath: String? = nil) throws {
        socketPath = unixPath
        let (listener, boundPort) = try Self.bindListener(unixPath: unixPath)
        fd = listener
        port = boundPort
        listen(fd, 1)
        Thread.detachNewThread { [self] in
            let client = accept(listener, nil, nil)
            var data: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            // The client half-closes after sending, so read to EOF.
            while true {
                let count = read(client, &buffer, buffer.count)
                if count <= 0 { break }
                data.append(contentsOf: buffer[0..<count])
            }
            let request = String(decoding: data, as: UTF8.self)
            let bytes = Array(response.utf8)
            _ = bytes.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            close(client)
            self.lock.withLock { self.received = request }
        }
    }

    private static func bindListener(unixPath: String?) throws -> (Int32, Int) {
        if let unixPath {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: unixPath.utf8)
                raw[unixPath.utf8.count] = 0
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
            return (fd, 0)
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// The raw request, once the exchange is over ("" when none arrived within 10 s). Polls
    /// with `Task.sleep` rather than blocking a cooperative thread on a semaphore.
    func request() async -> String {
        let deadline = ContinuousClock.now + .seconds(10)
        var request = lock.withLock { received }
        while request == nil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
            request = lock.withLock { received }
        }
        // Closing the listener also ends an accept() still waiting for a client that never came.
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        if let socketPath { unlink(socketPath) }
        return request ?? ""
    }

    static func response(status: String, json: String) -> String {
        "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
    }
}
