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
/// It may also be a socket another process bound and handed over (`init(inheriting:configured:)`).
public final class BoundListener: Sendable {
    /// The address asked for (a unix socket's path is removed again through it).
    public let requested: ListenAddress
    /// The address actually bound (with the real port after binding port 0).
    public let address: ListenAddress
    /// The unix socket file this process created, removed when the socket is closed; nil for TCP
    /// and for an inherited socket (its file belongs to whoever bound it: systemd re-serves it).
    public let socketFile: String?
    private let socket: Locked<Int32>

    /// Binds and listens. `unixSocketMode` is the file mode of a unix socket (see
    /// `HTTPServerConfiguration.unixSocketMode`).
    public init(_ address: ListenAddress, unixSocketMode: UInt32 = 0o660) throws(HTTPServerError) {
        let (fd, bound) = try ListeningSocket.open(address, unixMode: unixSocketMode)
        requested = address
        self.address = bound
        if case .unix(let path) = address { socketFile = path } else { socketFile = nil }
        socket = Locked(fd)
    }

    /// Takes over `fd`, a listening socket bound by the process that started this one (systemd's
    /// socket activation) in place of binding `configured`: it must be an open, listening stream
    /// socket of `configured`'s family (`HTTPServerError.inheritedSocket` says which check failed).
    /// Its address is whatever it is bound to; `close()` closes it but never removes its file.
    public init(inheriting fd: Int32, configured: ListenAddress) throws(HTTPServerError) {
        address = try InheritedSocket.adopt(fd, configured: configured)
        requested = configured
        socketFile = nil
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
        if let socketFile { unlink(socketFile) }
    }

    deinit { close() }
}
