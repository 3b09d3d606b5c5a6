import ECDCEpoll
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Creating, binding and naming sockets. Each failure carries the call and its errno.
enum ListeningSocket {
    /// A non-blocking, close-on-exec listening socket and the address it really bound.
    static func open(_ address: ListenAddress, unixMode: UInt32, backlog: Int32 = 4096) throws(HTTPServerError)
        -> (fd: Int32, bound: ListenAddress)
    {
        switch address {
        case .tcp(let host, let port): return try openTCP(host: host, port: port, label: address.description, backlog: backlog)
        case .unix(let path): return try openUnix(path: path, mode: unixMode, label: address.description, backlog: backlog)
        }
    }

    private static func fail(_ call: String, _ label: String, closing fd: Int32 = -1) -> HTTPServerError {
        let code = errno
        if fd >= 0 { close(fd) }
        return .system(call: call, errno: code, address: label)
    }

    private static func openTCP(host: String, port: Int, label: String, backlog: Int32) throws(HTTPServerError)
        -> (fd: Int32, bound: ListenAddress)
    {
        var storage = sockaddr_storage()
        let length = try resolve(host: host == "localhost" ? "127.0.0.1" : host, port: port, into: &storage)
        let family = Int32(storage.ss_family)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw fail("socket", label) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw fail("bind", label, closing: fd) }
        guard listen(fd, backlog) == 0 else { throw fail("listen", label, closing: fd) }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        let (boundHost, boundPort) = SocketAddress.describe(&actual)
        return (fd, .tcp(host: boundHost ?? host, port: boundPort ?? port))
    }

    private static func resolve(host: String, port: Int, into storage: inout sockaddr_storage) throws(HTTPServerError) -> socklen_t {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let info = result else {
            throw .addressResolution(host: host, message: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(result) }
        let length = info.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(length)))
        }
        return length
    }

    private static func openUnix(path: String, mode: UInt32, label: String, backlog: Int32) throws(HTTPServerError)
        -> (fd: Int32, bound: ListenAddress)
    {
        guard let addr = UnixSocketAddress(path: path) else {
            errno = ENAMETOOLONG
            throw fail("bind", label)
        }
        try removeStaleSocket(path: path, address: addr, label: label)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw fail("socket", label) }
        let bound = addr.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0 else { throw fail("bind", label, closing: fd) }
        // Nobody can connect before listen(), so tightening the mode here leaves no window.
        guard chmod(path, mode_t(mode)) == 0 else {
            let error = fail("chmod", label, closing: fd)
            unlink(path)
            throw error
        }
        guard listen(fd, backlog) == 0 else {
            let error = fail("listen", label, closing: fd)
            unlink(path)
            throw error
        }
        return (fd, .unix(path: path))
    }

    /// A socket file left by a process that died is replaced; one that still accepts connections
    /// is in use (EADDRINUSE); any other kind of file is never deleted (EEXIST).
    private static func removeStaleSocket(path: String, address: UnixSocketAddress, label: String) throws(HTTPServerError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            errno = EEXIST
            throw fail("bind", label)
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw fail("socket", label) }
        let connected = address.withSockaddr { connect(probe, $0, $1) }
        close(probe)
        if connected == 0 {
            errno = EADDRINUSE
            throw fail("bind", label)
        }
        unlink(path)
    }
}

enum SocketAddress {
    /// Host text and port of an IPv4/IPv6 address; nils for unix sockets.
    static func describe(_ storage: inout sockaddr_storage) -> (String?, Int?) {
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                    inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
                    return (text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, Int(UInt16(bigEndian: sin.pointee.sin_port)))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin6_addr
                    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                    inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                    return (text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, Int(UInt16(bigEndian: sin.pointee.sin6_port)))
                }
            }
        default:
            return (nil, nil)
        }
    }
}
