import ECDHTTP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 exchange over a fresh blocking socket (TCP or unix), `Connection: close`.
/// Enough for the command-line clients; URLSession cannot reach a unix socket.
enum HTTPClientConnection {
    struct Response: Sendable {
        let status: Int
        /// Lower-cased names.
        let headers: [String: String]
        let body: [UInt8]
    }

    static func exchange(
        _ transport: InternalAPIEndpoint.Transport, request: [UInt8], timeout: Duration
    ) throws(CommandFailure) -> Response {
        let fd = try connect(transport, timeout: timeout)
        defer { close(fd) }
        try writeAll(fd, request)
        shutdown(fd, Int32(SHUT_WR))
        return try parse(try readAll(fd), from: transport)
    }

    private static func connect(_ transport: InternalAPIEndpoint.Transport, timeout: Duration) throws(CommandFailure) -> Int32 {
        switch transport {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw failure("create a socket for", path) }
            setTimeouts(fd, timeout)
            guard let address = UnixSocketAddress(path: path) else {
                close(fd)
                throw CommandFailure("unix socket path is too long: \(path)")
            }
            let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
            guard result == 0 else {
                let error = failure("connect to", "unix:\(path)")
                close(fd)
                throw error
            }
            return fd
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_family = AF_UNSPEC
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, String(port), &hints, &list)
            guard status == 0, let first = list else {
                throw CommandFailure("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
            }
            defer { freeaddrinfo(list) }
            var lastError = CommandFailure("cannot connect to \(host):\(port)")
            var candidate: UnsafeMutablePointer<addrinfo>? = first
            while let info = candidate {
                candidate = info.pointee.ai_next
                let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
                guard fd >= 0 else { continue }
                setTimeouts(fd, timeout)
                if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
                lastError = failure("connect to", "\(host):\(port)")
                close(fd)
            }
            throw lastError
        }
    }

    private static func setTimeouts(_ fd: Int32, _ timeout: Duration) {
        let seconds = max(1, Int(timeout.components.seconds))
        var value = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(CommandFailure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("send the request to", "the daemon")
            }
            offset += written
        }
    }

    private static func readAll(_ fd: Int32) throws(CommandFailure) -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return data }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw CommandFailure("the daemon did not answer in time") }
                throw failure("read the response from", "the daemon")
            }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    static func parse(_ data: [UInt8], from transport: InternalAPIEndpoint.Transport) throws(CommandFailure) -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = data.firstRange(of: separator) else {
            throw CommandFailure("the daemon closed the connection without a complete HTTP response")
        }
        let head = String(decoding: data[..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw CommandFailure("the daemon sent a malformed HTTP status line")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[headEnd.upperBound...])
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try dechunk(body)
        } else if let length = headers["content-length"].flatMap({ Int($0) }), length <= body.count {
            body = Array(body[0..<length])
        }
        return Response(status: status, headers: headers, body: body)
    }

    private static func dechunk(_ bytes: [UInt8]) throws(CommandFailure) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = bytes[index...].firstRange(of: [13, 10]) else { break }
            let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
                .split(separator: ";")[0].trimmingCharacters(in: .whitespaces)
            guard let size = Int(sizeText, radix: 16) else { throw CommandFailure("the daemon sent a malformed chunked body") }
            if size == 0 { break }
            let start = lineEnd.upperBound
            guard start + size <= bytes.count else { throw CommandFailure("the daemon's chunked body is truncated") }
            output.append(contentsOf: bytes[start..<(start + size)])
            index = start + size + 2
        }
        return output
    }

    private static func failure(_ action: String, _ target: String) -> CommandFailure {
        CommandFailure("cannot \(action) \(target): \(String(cString: strerror(errno)))")
    }
}
