import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a test connects or listens: loopback TCP (port 0 = any free port) or a unix socket.
/// The one place in the tests that fills in `sockaddr_in`/`sockaddr_in6`/`sockaddr_un`.
public enum SocketAddress: Sendable, Equatable, CustomStringConvertible {
    case tcp(port: Int, host: String = "127.0.0.1")
    case unix(path: String)

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let call: String
        public let errno: Int32
        public let address: String
        public var description: String { "\(call) \(address): errno \(errno)" }
    }

    public var description: String {
        switch self {
        case .tcp(let port, let host): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }

    var family: Int32 {
        switch self {
        case .tcp(_, let host): host.contains(":") ? AF_INET6 : AF_INET
        case .unix: AF_UNIX
        }
    }

    /// Calls `body` with this address as a `sockaddr` and its length.
    public func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) rethrows -> T {
        switch self {
        case .tcp(let port, let host) where host.contains(":"):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET6, host, &address.sin6_addr)
            return try withUnsafePointer(to: &address) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        case .tcp(let port, let host):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            return try withUnsafePointer(to: &address) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .unix(let path):
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            // sockaddr_un starts zeroed, so the copied path is NUL-terminated (paths are short).
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8).prefix($0.count - 1)) }
            return try withUnsafePointer(to: &address) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
    }

    /// A new socket of this address's family (`type`: SOCK_STREAM or SOCK_DGRAM, flags or'ed in).
    public func socket(type: Int32 = Int32(SOCK_STREAM.rawValue)) throws -> Int32 {
        let fd = Glibc.socket(family, type, 0)
        guard fd >= 0 else { throw Failure(call: "socket", errno: errno, address: description) }
        return fd
    }

    /// A stream socket connected to this address.
    public func connect() throws -> Int32 {
        let fd = try socket()
        let result = withSockaddr { Glibc.connect(fd, $0, $1) }
        guard result == 0 else {
            let error = errno
            close(fd)
            throw Failure(call: "connect", errno: error, address: description)
        }
        return fd
    }

    /// Binds `fd` to this address.
    public func bind(_ fd: Int32) throws {
        guard withSockaddr({ Glibc.bind(fd, $0, $1) }) == 0 else {
            throw Failure(call: "bind", errno: errno, address: description)
        }
    }

    /// A listening stream socket on this address, and its port (the kernel's pick for port 0;
    /// 0 for a unix socket).
    public func listen(backlog: Int32 = 16) throws -> (fd: Int32, port: Int) {
        let fd = try socket()
        do {
            try bind(fd)
            guard Glibc.listen(fd, backlog) == 0 else { throw Failure(call: "listen", errno: errno, address: description) }
        } catch {
            close(fd)
            throw error
        }
        return (fd, Self.boundPort(of: fd))
    }

    /// The TCP port `fd` is bound to (0 for other families).
    public static func boundPort(of fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { return 0 }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        default:
            return 0
        }
    }
}

extension SocketAddress {
    /// A loopback TCP port nobody listens on right now (bound to port 0, then closed): a port
    /// that must refuse connections. (A child process is passed bound sockets: `PassedSocket`.)
    public static func unusedLoopbackPort() throws -> Int {
        let (fd, port) = try SocketAddress.tcp(port: 0).listen(backlog: 1)
        close(fd)
        return port
    }
}
