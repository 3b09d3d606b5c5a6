import ECDHTTP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One CIDR block (`10.0.0.0/8`, `::1/128`; a bare address means a single host).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// Network bytes with the host bits cleared: 4 for IPv4, 16 for IPv6.
    public let address: [UInt8]
    public let prefixLength: Int

    public init?(cidr text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = IPAddressBytes.parse(String(parts[0])) else { return nil }
        let maxPrefix = bytes.count * 8
        var prefix = maxPrefix
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isWholeNumber), parts[1].count <= 3, let parsed = Int(parts[1]), (0...maxPrefix).contains(parsed) else {
                return nil
            }
            prefix = parsed
        }
        self.prefixLength = prefix
        self.address = IPNetwork.mask(bytes, prefix: prefix)
    }

    /// Whether `address` (an IPv4 or IPv6 literal as the socket reports it) lies in this block.
    /// An IPv4-mapped IPv6 peer (`::ffff:10.0.0.1`, what a dual-stack socket reports) is matched
    /// against IPv4 blocks by its embedded IPv4 address.
    public func contains(address text: String) -> Bool {
        guard var bytes = IPAddressBytes.parse(text) else { return false }
        if bytes.count == 16, address.count == 4, bytes[0..<10].allSatisfy({ $0 == 0 }),
           bytes[10] == 0xFF, bytes[11] == 0xFF {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == address.count else { return false }
        return IPNetwork.mask(bytes, prefix: prefixLength) == address
    }

    public var description: String {
        let text: String
        if address.count == 4 {
            text = address.map(String.init).joined(separator: ".")
        } else {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let ok = address.withUnsafeBytes { raw in
                inet_ntop(AF_INET6, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
            }
            text = ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        }
        return "\(text)/\(prefixLength)"
    }

    private static func mask(_ bytes: [UInt8], prefix: Int) -> [UInt8] {
        var out = bytes
        for index in out.indices {
            let bitsHere = max(0, min(8, prefix - index * 8))
            out[index] &= bitsHere == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bitsHere))
        }
        return out
    }
}

/// `public.trusted_proxies`: peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
public struct TrustedProxies: Sendable, Hashable {
    public var networks: [IPNetwork]

    public init(networks: [IPNetwork]) { self.networks = networks }

    /// The default: `127.0.0.1/32` and `::1/128`, a reverse proxy on the same host.
    public static let loopback = TrustedProxies(networks: [IPNetwork(cidr: "127.0.0.1/32")!, IPNetwork(cidr: "::1/128")!])

    /// Whether a peer address (IPv4 or IPv6 literal) is in any trusted block. Nil (unix socket
    /// peers) is never trusted here: the public listener is TCP.
    public func contains(address: String?) -> Bool {
        guard let address else { return false }
        return networks.contains { $0.contains(address: address) }
    }
}
