#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A `sockaddr_un` and its length: the one place a unix socket path becomes an address (the
/// server's listeners, the command-line client, the systemd notifier).
public struct UnixSocketAddress: @unchecked Sendable {
    private var storage = sockaddr_un()
    /// The address's length: the family, the path bytes and, for a path, its terminating NUL.
    public let length: socklen_t

    /// A filesystem path; nil when it is empty or does not fit `sun_path` with its NUL.
    public init?(path: String) {
        self.init(bytes: Array(path.utf8), abstract: false)
    }

    /// A name in Linux's abstract namespace (`@name` in systemd's spelling, without the `@`): a NUL
    /// first byte, no terminating NUL.
    public init?(abstractName name: String) {
        self.init(bytes: [0] + Array(name.utf8), abstract: true)
    }

    private init?(bytes: [UInt8], abstract: Bool) {
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { destination in
            destination.copyBytes(from: bytes)
        }
        length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
    }

    /// The address as sent: `length` bytes of the `sockaddr_un`.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: storage) { Array($0.prefix(Int(length))) }
    }

    /// Calls `body` with the address as the socket calls take it.
    public func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) rethrows -> Result {
        try withUnsafePointer(to: storage) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }
}
