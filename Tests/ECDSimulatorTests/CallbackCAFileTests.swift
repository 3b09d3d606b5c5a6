import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import ECDSimulator

/// `--callback-ca-file`: https callbacks trust exactly the given certificates. Against a real TLS
/// server (Python's http.server wrapped in ssl, answering every POST 200) on a loopback port.
@Suite("Callbacks over TLS with a private CA file")
struct CallbackCAFileTests {
    @Test func aServerWhoseCertificateIsInTheFileIsReached() async throws {
        let server = try TLSServer()
        defer { server.stop() }
        let transport = CAFileCallbackTransport(caFile: server.certificate)
        let status = await transport.post(url: server.url, body: Array(#"{"a":1}"#.utf8), headers: [("Content-Type", "application/json")],
                                          timeout: .seconds(10))
        #expect(status == 200)
    }

    @Test func aServerWhoseCertificateIsNotInTheFileIsRefused() async throws {
        let server = try TLSServer()
        defer { server.stop() }
        let other = try TLSServer.makeCertificate(in: server.folder, name: "other")
        let transport = CAFileCallbackTransport(caFile: other)
        #expect(await transport.post(url: server.url, body: [], headers: [], timeout: .seconds(10)) == nil)
        // The certificate names 127.0.0.1 only: reached as "localhost" it is refused too.
        let trusting = CAFileCallbackTransport(caFile: server.certificate)
        let byName = server.url.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        #expect(await trusting.post(url: byName, body: [], headers: [], timeout: .seconds(10)) == nil)
    }

    @Test func theFlagNeedsALoadableFile() throws {
        #expect(throws: SimulatorConfigurationError.self) {
            try SimulatorConfiguration(arguments: ["--callback-ca-file", "/nonexistent/ca.pem"])
        }
        let folder = try TLSServer.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let certificate = try TLSServer.makeCertificate(in: folder, name: "ca")
        #expect(try SimulatorConfiguration(arguments: ["--callback-ca-file", certificate]).callbackCAFile == certificate)
    }
}

/// A TLS server in a python3 child with a fresh self-signed certificate for 127.0.0.1; it prints
/// its port once listening.
private final class TLSServer {
    let folder: String
    let certificate: String
    let url: String
    private let process: Process

    static let script = """
        import http.server, ssl, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
            def log_message(self, *args): pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); context.load_cert_chain(sys.argv[1], sys.argv[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """

    init() throws {
        folder = try Self.temporaryFolder()
        certificate = try Self.makeCertificate(in: folder, name: "server")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        child.arguments = ["python3", "-c", Self.script, certificate, folder + "/server.key"]
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()
        // The port line is the readiness signal: it is printed once the socket listens.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            line += chunk
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            throw CocoaError(.fileReadUnknown)
        }
        process = child
        url = "https://127.0.0.1:\(port)/callbacks/delegated/x"
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: folder)
    }

    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "ecd-ca-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A self-signed certificate (its own CA) for IP 127.0.0.1; returns the certificate's path.
    static func makeCertificate(in folder: String, name: String) throws -> String {
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                             "-keyout", "\(folder)/\(name).key", "-out", "\(folder)/\(name).pem", "-subj", "/CN=127.0.0.1",
                             "-addext", "subjectAltName=IP:127.0.0.1"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        return "\(folder)/\(name).pem"
    }
}
