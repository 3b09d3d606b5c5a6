import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A keep-alive HTTP/1.1 server in a python3 child on a loopback port, plain or TLS (with a fresh
/// self-signed certificate for IP 127.0.0.1 that is its own CA), for testing HTTP clients against
/// a real TLS stack. It prints its port once listening (the readiness signal).
/// `POST` reads the body and answers 200 with it echoed; `GET /peer` answers the client's port
/// (so a test sees whether a connection was reused); `GET /chunked` answers "hello world" chunked.
public final class PythonHTTPServer: @unchecked Sendable {
    public let folder: String
    /// The server's certificate (also its CA), nil for plain http.
    public let certificate: String?
    public let port: Int
    private let process: Process

    static let script = """
        import http.server, ssl, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
                self.wfile.write(body)
            def do_GET(self):
                if self.path == "/chunked":
                    self.send_response(200); self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
                    self.wfile.write(b"5\\r\\nhello\\r\\n6;ext=1\\r\\n world\\r\\n0\\r\\n\\r\\n")
                    return
                body = str(self.client_address[1]).encode()
                self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args): pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if len(sys.argv) > 2:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); context.load_cert_chain(sys.argv[1], sys.argv[2])
            server.socket = context.wrap_socket(server.socket, server_side=True)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """

    public init(tls: Bool) throws {
        let folder = try Self.temporaryFolder()
        let certificate = tls ? try Self.makeCertificate(in: folder, name: "server") : nil
        self.folder = folder
        self.certificate = certificate
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        child.arguments = ["python3", "-c", Self.script] + (certificate.map { [$0, folder + "/server.key"] } ?? ["plain"])
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()
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
        self.port = port
    }

    /// `https://127.0.0.1:port` (or http), optionally by another host name.
    public func url(_ path: String = "/", host: String = "127.0.0.1") -> String {
        "\(certificate == nil ? "http" : "https")://\(host):\(port)\(path)"
    }

    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: folder)
    }

    public static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "ecd-tls-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A self-signed certificate (its own CA) for IP 127.0.0.1 only; returns the certificate's path.
    public static func makeCertificate(in folder: String, name: String) throws -> String {
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
