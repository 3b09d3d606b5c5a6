/// Where a server listens: a TCP host and port (port 0 picks a free one) or a unix socket path.
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let input: String
        public let reason: String
        public var description: String { "invalid listen address \"\(input)\": \(reason)" }
    }

    /// Parses `127.0.0.1:8080`, `[::1]:0`, `localhost:80`, `unix:/run/ecd.sock`.
    public init(parsing text: String) throws(ParseError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/") || path.hasPrefix(".") else {
                throw ParseError(input: text, reason: "unix socket path must be absolute or relative (./)")
            }
            guard path.utf8.count < 108 else { throw ParseError(input: text, reason: "unix socket path too long") }
            self = .unix(path: path)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw ParseError(input: text, reason: "missing ]") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { throw ParseError(input: text, reason: "missing :port") }
            portText = after.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw ParseError(input: text, reason: "missing :port") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw ParseError(input: text, reason: "IPv6 addresses go in brackets") }
        }
        guard !host.isEmpty else { throw ParseError(input: text, reason: "missing host") }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ParseError(input: text, reason: "port must be 0…65535")
        }
        self = .tcp(host: String(host), port: port)
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}
