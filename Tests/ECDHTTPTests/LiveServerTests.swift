import Foundation
import Testing
@testable import ECDHTTP
import ECDTestSupport

@Suite("Live server over real sockets")
struct LiveServerTests {
    @Test func answersAndKeepsAlive() async throws {
        try await withServer { server in
            #expect(server.port > 0)
            let client = try RawClient(port: server.port)
            for _ in 0..<3 {
                client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try await client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "hello")
                #expect(response.header("Content-Length") == "5")
                #expect(response.header("Connection") == "keep-alive")
                #expect(response.header("Date")?.hasSuffix("GMT") == true)
                #expect(response.header("X-Request-Id")?.isEmpty == false)
            }
        }
    }

    @Test func deferredResponsesStayInOrderWhenPipelined() async throws {
        try await withServer { server in
            let client = try RawClient(port: server.port)
            client.send("GET /slow?ms=80 HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /slow?ms=10 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text == "slow 80")
            #expect(try await client.readResponse().text == "hello")
            #expect(try await client.readResponse().text == "slow 10")
        }
    }

    @Test func postBodyWithContentLength() async throws {
        try await withServer { server in
            let client = try RawClient(port: server.port)
            client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "hello world")
        }
    }

    @Test func thrownErrorInDeferredWorkIsA500() async throws {
        try await withServer { server in
            let client = try RawClient(port: server.port)
            client.send("GET /throws HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 500)
            #expect(response.text.contains("internal_error"))
        }
    }

    @Test func ipv6AndContext() async throws {
        try await withServer(listen: .tcp(host: "::1", port: 0)) { server in
            #expect(server.boundAddress.description.hasPrefix("[::1]:"))
            let client = try RawClient(port: server.port, host: "::1")
            client.send("GET /context HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.text.hasPrefix("test ::1 "))
            #expect(response.text.hasSuffix(response.header("X-Request-Id")!))
        }
    }

    @Test func unixSocket() async throws {
        let path = "/tmp/ecd-http-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        try await withServer(listen: .unix(path: path)) { server in
            #expect(server.port == 0)
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o660)
            let client = try RawClient(unixPath: path)
            client.send("GET /context HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await client.readResponse().text.hasPrefix("test - "))
        }
        #expect(access(path, F_OK) != 0)
    }
}
