/// Where a server listens: a TCP host and port (port 0 picks a free one) or a unix socket path.
/// Spelled `host:port` (an IPv4 literal, `[IPv6]` literal or `localhost`) or `unix:PATH`: the one
/// parser of listen addresses (the daemon's configuration, its commands and the simulator).
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Why a spelling was refused; `reason` completes "`public.listen`: …".
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let input: String
        public let reason: String
        public var description: String { "invalid listen address \"\(input)\": \(reason)" }
    }

    public init(parsing text: String, allowUnix: Bool = true) throws(ParseError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard allowUnix else { throw ParseError(input: text, reason: "must be host:port (unix sockets are not allowed here)") }
            guard !path.isEmpty else { throw ParseError(input: text, reason: "unix: needs a socket path") }
            // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
            guard path.utf8.count < 108 else { throw ParseError(input: text, reason: "unix socket path is longer than 107 bytes") }
            self = .unix(path: path)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ParseError(input: text, reason: "must be host:port, [ipv6]:port or unix:PATH")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard IPAddressBytes.parse(String(host))?.count == 16 else {
                throw ParseError(input: text, reason: "\(host) is not an IPv6 address")
            }
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else {
                throw ParseError(input: text, reason: "must be host:port, [ipv6]:port or unix:PATH")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard host == "localhost" || IPAddressBytes.parse(String(host))?.count == 4 else {
                throw ParseError(input: text, reason: "host must be an IP address or localhost")
            }
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (0...65535).contains(port) else {
            throw ParseError(input: text, reason: "port must be a number from 0 to 65535")
        }
        self = .tcp(host: String(host), port: port)
    }

    /// Whether only this host can connect: a unix socket, or a loopback address (`127.0.0.0/8`,
    /// `::1`, `localhost`, an IPv4-mapped loopback).
    public var isLocal: Bool {
        switch self {
        case .unix:
            return true
        case .tcp(let host, _):
            if host == "localhost" { return true }
            guard let bytes = IPAddressBytes.parse(host) else { return false }
            if bytes.count == 4 { return bytes[0] == 127 }
            if bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
            return bytes[0..<12].elementsEqual([UInt8](repeating: 0, count: 10) + [0xff, 0xff]) && bytes[12] == 127
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}
