import ECDCLibPQ
import Foundation

/// A private PostgreSQL server for tests: `initdb` into a fresh temporary folder, then the
/// `postgres` binary on a free loopback port (TCP only, no Unix socket), stopped by `stop()`.
///
/// `initdb` and the server refuse to run as root, so as root both run as the `postgres` user of
/// Debian's package (setpriv, which execs: the child's pid is the server's own, and a signal to
/// it reaches the server). The server runs as our child rather than daemonized by `pg_ctl`, so it
/// stays in the test's process session: a crashed test run leaves nothing behind that the CI
/// script's per-stage cleanup does not end. `restart()` is a fast shutdown and a start on the
/// same port and data, which is what `pg_ctl restart -m fast` does.
///
/// Binaries: the newest /usr/lib/postgresql/*/bin, or ECD_TEST_POSTGRES_BIN. Shared by every test
/// target through ECDTestSupport (the cluster tests of issue 16 start one too).
public final class PostgresTestServer: @unchecked Sendable {
    public let directory: String
    public private(set) var port: Int
    private let binaries: String
    private let lock = NSLock()
    private var process: Process?
    private var exited: DispatchSemaphore?

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Creates the cluster and starts the server; ready for connections when this returns.
    public static func start() throws -> PostgresTestServer {
        let server = try PostgresTestServer()
        try server.initdb()
        // A port found free may be taken before the server binds it: try a few.
        var lastError: Error?
        for _ in 0..<3 {
            do {
                try server.start()
                return server
            } catch {
                lastError = error
                server.port = try Self.freeLoopbackPort()
            }
        }
        throw lastError!
    }

    private init() throws {
        binaries = try Self.findBinaries()
        // A short path under /tmp: readable by the postgres user whatever TMPDIR says.
        directory = "/tmp/ecd-pg-\(getpid())-\(UUID().uuidString.prefix(8))"
        port = try Self.freeLoopbackPort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        if Self.runsAsRoot {
            guard let user = getpwnam("postgres") else {
                throw Failure(description: "running as root needs the postgres user (apt-get install postgresql)")
            }
            guard chown(directory, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
                throw Failure(description: "chown \(directory) failed: errno \(errno)")
            }
        }
    }

    deinit { destroy() }

    /// Stops the server and removes its folder.
    public func destroy() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A URL for `database` as the cluster's superuser `ecd` (trust authentication).
    public func url(database: String = "postgres") -> String {
        "postgresql://ecd@127.0.0.1:\(port)/\(database)"
    }

    /// A fresh, empty database of its own for one test.
    public func makeDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try execute("CREATE DATABASE \(name)")
        return name
    }

    /// Runs `sql` on the `postgres` database with plain libpq (independent of the code under test).
    public func execute(_ sql: String) throws {
        guard let connection = PQconnectdb("host=127.0.0.1 port=\(port) user=ecd dbname=postgres connect_timeout=5") else {
            throw Failure(description: "PQconnectdb returned nil")
        }
        defer { PQfinish(connection) }
        guard PQstatus(connection) == CONNECTION_OK else {
            throw Failure(description: "connect: " + String(cString: PQerrorMessage(connection)))
        }
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            throw Failure(description: "\(sql): " + String(cString: PQerrorMessage(connection)))
        }
    }

    // MARK: - Lifecycle

    /// Starts the server on `port` and waits until it accepts connections.
    public func start() throws {
        let log = directory + "/server.log"
        let process = try launch("postgres", [
            "-D", directory + "/data", "-p", String(port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
            // Durability is not under test here; the box is shared by many test runs.
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "shared_buffers=16MB", "-c", "max_connections=60",
        ], log: log)
        let deadline = Date().addingTimeInterval(60)
        while PQping("host=127.0.0.1 port=\(port) user=ecd dbname=postgres connect_timeout=2") != PQPING_OK {
            guard process.isRunning else {
                throw Failure(description: "postgres exited at start: \(tail(log))")
            }
            guard Date() < deadline else {
                stop()
                throw Failure(description: "postgres not ready after 60 s: \(tail(log))")
            }
            usleep(20_000)   // polling the readiness probe, not a guess at a start time
        }
    }

    /// Fast shutdown (SIGINT: connections are ended, nothing waits), then waits for the exit.
    public func stop() {
        let (running, exited): (Process?, DispatchSemaphore?) = lock.withLock {
            defer { process = nil; self.exited = nil }
            return (process, self.exited)
        }
        guard let running, let exited else { return }
        if running.isRunning { kill(running.processIdentifier, SIGINT) }
        if exited.wait(timeout: .now() + 30) == .timedOut {
            kill(running.processIdentifier, SIGKILL)
            exited.wait()
        }
    }

    public func restart() throws {
        stop()
        try start()
    }

    // MARK: - Internals

    private func initdb() throws {
        let log = directory + "/initdb.log"
        let process = try launch("initdb", [
            "-D", directory + "/data", "-A", "trust", "-U", "ecd", "-E", "UTF8", "--locale=C",
            "--no-sync", "--no-instructions",
        ], log: log)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "initdb failed: \(tail(log))")
        }
    }

    /// Starts `binary` from the PostgreSQL folder, as the postgres user when we are root.
    @discardableResult
    private func launch(_ binary: String, _ arguments: [String], log: String) throws -> Process {
        let process = Process()
        let path = binaries + "/" + binary
        if Self.runsAsRoot {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        if Self.runsAsRoot, let user = getpwnam("postgres") {
            _ = chown(log, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        output.seekToEndOfFile()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        if binary == "postgres" {
            lock.withLock {
                self.process = process
                self.exited = exited
            }
        }
        return process
    }

    private func tail(_ log: String) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(8).joined(separator: "\n")
    }

    private static var runsAsRoot: Bool { geteuid() == 0 }

    private static func findBinaries() throws -> String {
        if let configured = ProcessInfo.processInfo.environment["ECD_TEST_POSTGRES_BIN"] { return configured }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }.sorted()
        for version in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw Failure(description: "no PostgreSQL server under \(root) (apt-get install postgresql)")
    }
}

extension PostgresTestServer {
    /// A loopback TCP port that was free a moment ago (bound to port 0, then released).
    static func freeLoopbackPort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw PostgresTestServer.Failure(description: "socket: errno \(errno)") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(socket, raw, length) == 0 else { return -1 }
                return getsockname(socket, raw, &length)
            }
        }
        guard bound == 0 else { throw PostgresTestServer.Failure(description: "bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
