import ECDSync
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, which, unlike Foundation's `Process` (it closes
/// every descriptor above 2 in the child), can hand it listening sockets: systemd's socket
/// activation, as a test plays systemd. The sockets become descriptors 3, 4, … and `LISTEN_FDS`,
/// `LISTEN_FDNAMES` and `LISTEN_PID` describe them. `LISTEN_PID` must be the child's own pid,
/// which only exists once it runs, so the child is `/bin/sh`, which sets it to `$$` and `exec`s
/// the program under that same pid (as `systemd-socket-activate` sets it after its fork).
public final class SpawnedProcess: Sendable {
    /// A socket to hand over and the name it is passed under (`FileDescriptorName=`).
    public struct Socket: Sendable {
        public let name: String
        public let fd: Int32
        public init(name: String, fd: Int32) {
            self.name = name
            self.fd = fd
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let pid: pid_t
    /// The wait status once reaped (nil while running).
    private let status = Locked<Int32?>(nil)

    /// Starts `executable arguments` with exactly `environment`, in `directory`, its standard
    /// output and error appended to the given files and its standard input `/dev/null`; `sockets`
    /// (with names) are passed as socket activation passes them. Nothing else this process has
    /// open reaches the child. The caller keeps its own descriptors of the sockets (close them
    /// once the child has them, so the child is their only listener).
    public init(_ executable: String, _ arguments: [String], environment: [String: String], directory: String,
                standardOutput: String, standardError: String, sockets: [Socket] = []) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        // Copies far above 3 + sockets.count first: a socket that happens to be descriptor 3 must
        // not be overwritten by another's dup2 before its own.
        var copies: [Int32] = []
        defer { for copy in copies { close(copy) } }
        for socket in sockets {
            let copy = fcntl(socket.fd, F_DUPFD_CLOEXEC, 100)
            guard copy >= 0 else { throw Failure(description: "cannot duplicate fd \(socket.fd): errno \(errno)") }
            copies.append(copy)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        for (index, copy) in copies.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, copy, 3 + Int32(index))
        }
        guard GNUSpawnActions.closeFrom(&actions, 3 + Int32(copies.count)) == 0,
              GNUSpawnActions.changeDirectory(&actions, directory) == 0 else {
            throw Failure(description: "cannot prepare the child's descriptors and folder")
        }
        // Its own process group (as `Process` does), no blocked signals.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))

        var environment = environment
        var argv = [executable] + arguments
        var program = executable
        if !sockets.isEmpty {
            environment["LISTEN_FDS"] = String(sockets.count)
            environment["LISTEN_FDNAMES"] = sockets.map(\.name).joined(separator: ":")
            program = "/bin/sh"
            argv = ["sh", "-c", #"LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@""#] + argv
        }
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in cArguments { free(pointer) }
            for pointer in cEnvironment { free(pointer) }
        }
        var child = pid_t()
        let result = posix_spawn(&child, program, &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else { throw Failure(description: "posix_spawn \(program): errno \(result)") }
        pid = child
    }

    deinit {
        // A test that failed before stopping its child: SIGKILL, which cannot be ignored, and reap it.
        if isRunning {
            kill(pid, SIGKILL)
            _ = reap(blocking: true)
        }
    }

    /// Whether the child has not exited yet (reaps it when it has).
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// Sends `signal`.
    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// The exit status (the signal's number for a child killed by one, as `Process` reports it) once the child has exited,
    /// polling with `Task.sleep` (never blocking a thread of the cooperative pool); nil when it
    /// still ran after `limit`, and is then killed and reaped.
    public func exitStatus(within limit: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + limit
        while true {
            if let status = reap(blocking: false) { return Self.exitCode(status) }
            guard ContinuousClock.now < deadline else { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        kill(pid, SIGKILL)
        while reap(blocking: false) == nil { try? await Task.sleep(for: .milliseconds(10)) }
        return nil
    }

    private static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : signal
    }

    private func reap(blocking: Bool) -> Int32? {
        status.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &raw, blocking ? 0 : WNOHANG) } while result < 0 && errno == EINTR
            guard result == pid else { return nil }
            status = raw
            return raw
        }
    }
}

/// Listening loopback sockets bound here and passed to a child (`SpawnedProcess` sockets): the
/// child's ports are known before it starts and nobody can take them in between.
public enum PassedSocket {
    /// A listening TCP socket on 127.0.0.1, port picked by the kernel.
    public static func loopback() throws -> (fd: Int32, port: Int) {
        try SocketAddress.tcp(port: 0).listen(backlog: 128)
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34) and `_addchdir_np` (2.29), which
/// Swift's Glibc module does not declare (they need `_GNU_SOURCE`): looked up by name.
private enum GNUSpawnActions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ fd: Int32) -> Int32 {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return ENOSYS }
        return unsafeBitCast(symbol, to: CloseFrom.self)(actions, fd)
    }

    static func changeDirectory(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Int32 {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else { return ENOSYS }
        return unsafeBitCast(symbol, to: ChangeDirectory.self)(actions, path)
    }
}
