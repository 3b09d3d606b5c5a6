import ECDTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import ECDSimulator

/// `--callback-ca-file`: https callbacks trust exactly the given certificates. Against a real TLS
/// server (`PythonHTTPServer`) on a loopback port.
@Suite("Callbacks over TLS with a private CA file")
struct CallbackCAFileTests {
    @Test func aServerWhoseCertificateIsInTheFileIsReached() async throws {
        let server = try PythonHTTPServer(tls: true)
        defer { server.stop() }
        let transport = HTTPCallbackTransport(caFile: server.certificate!)
        let status = await transport.post(url: server.url("/callbacks/delegated/x"), body: Array(#"{"a":1}"#.utf8), headers: [("Content-Type", "application/json")],
                                          timeout: .seconds(10))
        #expect(status == 200)
    }

    @Test func aServerWhoseCertificateIsNotInTheFileIsRefused() async throws {
        let server = try PythonHTTPServer(tls: true)
        defer { server.stop() }
        let other = try PythonHTTPServer.makeCertificate(in: server.folder, name: "other")
        let transport = HTTPCallbackTransport(caFile: other)
        #expect(await transport.post(url: server.url("/callbacks/delegated/x"), body: [], headers: [], timeout: .seconds(10)) == nil)
        // The certificate names 127.0.0.1 only: reached as "localhost" it is refused too.
        let trusting = HTTPCallbackTransport(caFile: server.certificate!)
        let byName = server.url("/callbacks/delegated/x", host: "localhost")
        #expect(await trusting.post(url: byName, body: [], headers: [], timeout: .seconds(10)) == nil)
    }

    @Test func theFlagNeedsALoadableFile() throws {
        #expect(throws: SimulatorConfigurationError.self) {
            try SimulatorConfiguration(arguments: ["--callback-ca-file", "/nonexistent/ca.pem"])
        }
        let folder = try PythonHTTPServer.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let certificate = try PythonHTTPServer.makeCertificate(in: folder, name: "ca")
        #expect(try SimulatorConfiguration(arguments: ["--callback-ca-file", certificate]).callbackCAFile == certificate)
    }
}
