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

    /// Runs `ecd arguments` in `directory` with exactly `environment` (no inherited ECD_* variables).
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> Result {
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
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Result(
            code: process.terminationStatus,
            stdout: try String(contentsOfFile: outPath, encoding: .utf8),
            stderr: try String(contentsOfFile: errPath, encoding: .utf8))
    }
}

/// A one-shot HTTP server on loopback TCP or a unix socket: records the request it receives and
/// answers with a canned response, so the command-line clients are tested over real sockets.
final class CannedHTTPServer: @unchecked Sendable {
    let port: Int
    let socketPath: String?
    private let fd: Int32
    private let done = DispatchSemaphore(value: 0)
    private var received: String = ""

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
            self.received = String(decoding: data, as: UTF8.self)
            let bytes = Array(response.utf8)
            _ = bytes.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            close(client)
            self.done.signal()
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

    /// The raw request, once the exchange is over.
    func request() -> String {
        _ = done.wait(timeout: .now() + 10)
        close(fd)
        if let socketPath { unlink(socketPath) }
        return received
    }

    static func response(status: String, json: String) -> String {
        "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
    }
}
