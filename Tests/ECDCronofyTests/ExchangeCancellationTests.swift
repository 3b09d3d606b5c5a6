import ECDTestSupport
@testable import ECDHTTPClient
import Testing

/// The link between a task's cancellation and its exchange's connection (`ExchangeCancellation`).
@Suite("exchange cancellation")
struct ExchangeCancellationTests {
    /// A connection on its way back to the pool is let go first: a cancellation that arrives after
    /// (the task cancelled on its way out of `send`) must not shut a socket another exchange may
    /// have taken from the pool by then.
    @Test func aLateCancellationSparesAPooledConnection() throws {
        let server = try CannedHTTPServer(replies: [nil])
        defer { server.stop() }
        let cancellation = ExchangeCancellation()
        let connection = try HTTPConnection.open(host: "127.0.0.1", port: server.port, tls: nil,
                                                 deadline: .now + .seconds(5), cancellation: cancellation)
        #expect(cancellation.detach())
        cancellation.cancel()
        #expect(connection.isIdleAndOpen)
    }

    /// Cancelled before it could let go: the connection is not pooled, and it is shut.
    @Test func aCancelledExchangeKeepsItsConnectionOutOfThePool() throws {
        let server = try CannedHTTPServer(replies: [nil])
        defer { server.stop() }
        let cancellation = ExchangeCancellation()
        let connection = try HTTPConnection.open(host: "127.0.0.1", port: server.port, tls: nil,
                                                 deadline: .now + .seconds(5), cancellation: cancellation)
        cancellation.cancel()
        #expect(!cancellation.detach())
        #expect(!connection.isIdleAndOpen)
    }
}
