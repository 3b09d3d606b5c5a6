import ECDSync
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A listening socket bound before its server exists, so that what the server's handlers are
/// built from may depend on the address really bound (the port the kernel picked for port 0, in
/// a public base URL, say). Connections queue in the backlog until `HTTPServer.start(on:)` takes
/// it; a listener never handed to a server is closed with `close()` (its unix socket file removed).
public final class BoundListener: Sendable {
    /// The address asked for (a unix socket's path is removed again through it).
    public let requested: ListenAddress
    /// The address actually bound (with the real port after binding port 0).
    public let address: ListenAddress
    private let socket: Locked<Int32>

    /// Binds and listens. `unixSocketMode` is the file mode of a unix socket (see
    /// `HTTPServerConfiguration.unixSocketMode`).
    public init(_ address: ListenAddress, unixSocketMode: UInt32 = 0o660) throws(HTTPServerError) {
        let (fd, bound) = try ListeningSocket.open(address, unixMode: unixSocketMode)
        requested = address
        self.address = bound
        socket = Locked(fd)
    }

    /// The bound TCP port; 0 for unix sockets.
    public var port: Int {
        if case .tcp(_, let port) = address { return port }
        return 0
    }

    /// The descriptor, handed over once: a second take (or a take after `close()`) gets nil.
    func take() -> Int32? {
        socket.withLock { fd in
            guard fd >= 0 else { return nil }
            defer { fd = -1 }
            return fd
        }
    }

    /// Closes a listener no server took (and removes its unix socket file); nothing once taken.
    public func close() {
        guard let fd = take() else { return }
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
        if case .unix(let path) = requested { unlink(path) }
    }

    deinit { close() }
}
