import Foundation
@testable import ECDApp

/// A private temporary folder per test, removed by the caller's `defer`.
struct TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ecd-app-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let path = url.appendingPathComponent(name).path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

enum ConfigFixtures {
    static let clientSecret = "csec-Zq81-not-in-output"
    static let apiKey = "apikey-Wp55-not-in-output-0123456789"
    /// base64 of the 32 bytes "0123456789abcdef0123456789abcdef".
    static let keyBase64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    static let keyBytes = Array("0123456789abcdef0123456789abcdef".utf8)

    /// Everything `serve` needs, nothing more.
    static let minimalJSON = """
        {
          "cronofy": {"client_id": "cid-123", "client_secret": "\(clientSecret)"},
          "public": {"base_url": "https://ecd.example.com/"},
          "internal": {"api_keys": ["\(apiKey)"]},
          "storage": {"encryption_keys": [{"id": "k1", "key": "\(keyBase64)"}]}
        }
        """

    /// Loads `json` (written to a temporary file) with `environment`, never reading Config/ecd.json.
    static func load(
        _ json: String?, environment: [String: String] = [:], mode: ConfigurationMode = .serve
    ) throws(ConfigurationError) -> AppConfiguration {
        let folder: TemporaryFolder
        let path: String?
        do {
            folder = try TemporaryFolder()
            path = try json.map { try folder.write("ecd.json", $0) }
        } catch {
            fatalError("cannot write a temporary file: \(error)")
        }
        defer { folder.remove() }
        return try AppConfiguration.load(
            configPath: path, environment: environment, mode: mode, defaultConfigPath: "/nonexistent/ecd.json")
    }

    /// The problems of a configuration that must fail.
    static func problems(_ json: String?, environment: [String: String] = [:], mode: ConfigurationMode = .serve) -> [String] {
        do {
            _ = try load(json, environment: environment, mode: mode)
            return []
        } catch {
            return error.problems
        }
    }
}
