#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A listening socket another process bound and handed over (systemd's socket activation): what
/// `ListeningSocket.open` would have made, checked instead of created. A socket of another kind
/// would fail later and obscurely (a UDP socket never accepts, a connected one is no listener),
/// so it is refused here, naming its descriptor.
enum InheritedSocket {
    /// Checks that `fd` is an open, listening stream socket of `configured`'s family (IPv4 for
    /// `127.0.0.1:…` and `localhost:…`, IPv6 for `[::1]:…`, unix for `unix:…`), makes it
    /// non-blocking and close-on-exec, and returns the address it is bound to.
    static func adopt(_ fd: Int32, configured: ListenAddress) throws(HTTPServerError) -> ListenAddress {
        guard fcntl(fd, F_GETFD) >= 0 else { throw .inheritedSocket(fd: fd, problem: "is not open") }
        var type: Int32 = 0
        guard option(fd, SO_TYPE, &type) else {
            throw .inheritedSocket(fd: fd, problem: errno == ENOTSOCK ? "is not a socket" : "cannot be inspected (errno \(errno))")
        }
        guard type == Int32(SOCK_STREAM.rawValue) else {
            throw .inheritedSocket(fd: fd, problem: "is not a stream socket (ListenStream=)")
        }
        var listening: Int32 = 0
        guard option(fd, SO_ACCEPTCONN, &listening), listening != 0 else {
            throw .inheritedSocket(fd: fd, problem: "is not listening")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw .inheritedSocket(fd: fd, problem: "has no address (errno \(errno))") }
        let family = Int32(storage.ss_family)
        let wanted = expectedFamily(configured)
        guard family == wanted else {
            throw .inheritedSocket(fd: fd, problem: "is \(familyName(family)), but \(configured) needs \(familyName(wanted))")
        }
        // The server's accept loop needs a non-blocking socket; systemd hands them over blocking.
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0, fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 else {
            throw .inheritedSocket(fd: fd, problem: "cannot be made non-blocking (errno \(errno))")
        }
        if family == AF_UNIX { return .unix(path: unixPath(&storage, length: length)) }
        let (host, port) = SocketAddress.describe(&storage)
        return .tcp(host: host ?? "?", port: port ?? 0)
    }

    private static func option(_ fd: Int32, _ name: Int32, _ value: inout Int32) -> Bool {
        var size = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, name, &value, &size) == 0
    }

    private static func expectedFamily(_ address: ListenAddress) -> Int32 {
        switch address {
        case .unix: AF_UNIX
        case .tcp(let host, _): host.contains(":") ? AF_INET6 : AF_INET
        }
    }

    private static func familyName(_ family: Int32) -> String {
        switch family {
        case AF_INET: "an IPv4 socket"
        case AF_INET6: "an IPv6 socket"
        case AF_UNIX: "a unix socket"
        default: "a socket of family \(family)"
        }
    }

    /// A unix socket's path (`@name` for Linux's abstract namespace, as systemd spells it).
    private static func unixPath(_ storage: inout sockaddr_storage, length: socklen_t) -> String {
        withUnsafeBytes(of: &storage) { raw in
            let start = MemoryLayout<sa_family_t>.size
            let bytes = Array(raw[start..<max(start, min(Int(length), raw.count))])
            if bytes.first == 0 { return "@" + String(decoding: bytes.dropFirst(), as: UTF8.self) }
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
