import ECDTestSupport
import Foundation
import Testing
@testable import ECDHTTP
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket handed over by socket activation: only an open, listening stream socket of
/// the configured address's family is taken; it is served like one bound here, and its unix
/// socket file, which belongs to whoever bound it, is left in place.
@Suite("Inherited listening sockets")
struct InheritedSocketTests {
    func refusal(_ fd: Int32, _ configured: ListenAddress) -> String? {
        do {
            _ = try BoundListener(inheriting: fd, configured: configured)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func onlyAnOpenListeningStreamSocketOfTheRightFamilyIsTaken() throws {
        let loopback = ListenAddress.tcp(host: "127.0.0.1", port: 8080)
        // Not open (a number far above any this process uses: a descriptor just closed could be
        // reused at once by another test running in parallel).
        #expect(refusal(999_999, loopback) == "inherited socket fd 999999 is not open")
        // Not a socket.
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        #expect(refusal(pipeEnds[0], loopback) == "inherited socket fd \(pipeEnds[0]) is not a socket")
        // A datagram socket.
        let datagram = try SocketAddress.tcp(port: 0).socket(type: Int32(SOCK_DGRAM.rawValue))
        defer { close(datagram) }
        try SocketAddress.tcp(port: 0).bind(datagram)
        #expect(refusal(datagram, loopback) == "inherited socket fd \(datagram) is not a stream socket (ListenStream=)")
        // A stream socket that does not listen.
        let unlistened = try SocketAddress.tcp(port: 0).socket()
        defer { close(unlistened) }
        try SocketAddress.tcp(port: 0).bind(unlistened)
        #expect(refusal(unlistened, loopback) == "inherited socket fd \(unlistened) is not listening")
        // The wrong family, each way.
        let ipv4 = try SocketAddress.tcp(port: 0).listen()
        defer { close(ipv4.fd) }
        #expect(refusal(ipv4.fd, .tcp(host: "::1", port: 8080))
            == "inherited socket fd \(ipv4.fd) is an IPv4 socket, but [::1]:8080 needs an IPv6 socket")
        #expect(refusal(ipv4.fd, .unix(path: "/run/ecd/ecd.sock"))
            == "inherited socket fd \(ipv4.fd) is an IPv4 socket, but unix:/run/ecd/ecd.sock needs a unix socket")
        // `localhost` is bound as 127.0.0.1: IPv4.
        #expect(refusal(ipv4.fd, .tcp(host: "localhost", port: 0)) == nil)
    }

    @Test func anInheritedSocketIsServedAtItsOwnAddress() async throws {
        let socket = try SocketAddress.tcp(port: 0).listen()
        let listener = try BoundListener(inheriting: socket.fd, configured: .tcp(host: "127.0.0.1", port: 0))
        #expect(listener.address == .tcp(host: "127.0.0.1", port: socket.port))
        // Made non-blocking for the accept loop (systemd passes them blocking), close-on-exec.
        #expect(fcntl(socket.fd, F_GETFL) & O_NONBLOCK != 0)
        #expect(fcntl(socket.fd, F_GETFD) & FD_CLOEXEC != 0)
        let server = HTTPServer(configuration: .init(listen: .tcp(host: "127.0.0.1", port: 0)), responder: testRouter())
        try server.start(on: listener)
        #expect(server.port == socket.port)
        let client = try RawClient(port: socket.port)
        client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await client.readResponse().status == 200)
        await server.shutdown(deadline: .seconds(1))
    }

    @Test func anInheritedUnixSocketKeepsItsFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ecd-inh-\(UUID().uuidString.prefix(8)).sock").path
        defer { unlink(path) }
        let socket = try SocketAddress.unix(path: path).listen()
        // Closed without being served, then served and shut down: the file stays both times.
        try BoundListener(inheriting: dup(socket.fd), configured: .unix(path: "/elsewhere.sock")).close()
        #expect(FileManager.default.fileExists(atPath: path))
        let listener = try BoundListener(inheriting: socket.fd, configured: .unix(path: "/elsewhere.sock"))
        #expect(listener.address == .unix(path: path))
        let server = HTTPServer(configuration: .init(listen: .unix(path: path)), responder: testRouter())
        try server.start(on: listener)
        let client = try RawClient(unixPath: path)
        client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await client.readResponse().status == 200)
        await server.shutdown(deadline: .seconds(1))
        #expect(FileManager.default.fileExists(atPath: path))
    }
}
