import ArgumentParser
import ECDHTTP
import Foundation

/// The options every thin client shares: where the daemon's internal API is, the API key, the
/// timeout and the output format.
///
/// The API key comes from `--api-key-file` or `ECD_API_KEY`, never from an argument, so it does
/// not show in `ps` or shell history.
struct ClientOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The internal API: http://HOST:PORT or unix:PATH (default: ECD_URL, else the configuration's internal.listen, else http://127.0.0.1:8081).",
        valueName: "url"))
    var url: String?

    @Option(name: .customLong("config"), help: ArgumentHelp(
        "The daemon's JSON configuration, read for internal.listen (default: Config/ecd.json when it exists).",
        valueName: "path"))
    var configPath: String?

    @Option(name: .customLong("api-key-file"), help: ArgumentHelp(
        "A file holding the API key on its first line (default: ECD_API_KEY).", valueName: "path"))
    var apiKeyFile: String?

    @Option(help: ArgumentHelp("Seconds to wait for the daemon.", valueName: "seconds"))
    var timeout = 60

    @Flag(help: "Print the daemon's JSON answers (the default when standard output is not a terminal).")
    var json = false

    @Flag(help: "Print tables (the default on a terminal).")
    var table = false

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        if json && table { throw ValidationError("--json and --table exclude each other") }
    }

    /// Tables for a person at a terminal, JSON for scripts and pipes unless asked otherwise.
    var format: OutputFormat {
        if json { return .json }
        if table { return .table }
        return Terminal.isTerminal(.standardOutput) ? .table : .json
    }

    func client(environment: [String: String] = ProcessInfo.processInfo.environment) throws(CommandFailure) -> InternalAPIClient {
        let address = try resolveURL(environment: environment)
        return InternalAPIClient(endpoint: try InternalAPIEndpoint(parsing: address.url), apiKey: try apiKey(environment: environment),
                                 timeout: .seconds(timeout), origin: address.origin)
    }

    /// The daemon's URL and where it came from (for messages).
    struct Address: Equatable {
        var url: String
        var origin: String
    }

    static let defaultURL = "http://127.0.0.1:8081"

    /// `--url`, else `ECD_URL`, else the configuration's `internal.listen` (with
    /// `ECD_INTERNAL_LISTEN` over the file, as the daemon reads it), else the default.
    func resolveURL(environment: [String: String]) throws(CommandFailure) -> Address {
        if let url { return Address(url: url, origin: "--url") }
        if let url = environment["ECD_URL"], !url.isEmpty { return Address(url: url, origin: "ECD_URL") }
        if let listen = environment["ECD_INTERNAL_LISTEN"], !listen.isEmpty {
            return Address(url: try Self.url(listen: listen, origin: "ECD_INTERNAL_LISTEN"), origin: "ECD_INTERNAL_LISTEN")
        }
        let path = configPath ?? (FileManager.default.fileExists(atPath: ConfigurationDefaults.configPath) ? ConfigurationDefaults.configPath : nil)
        if let path, let listen = try ClientConfigFile(path: path).internalListen {
            return Address(url: try Self.url(listen: listen, origin: "internal.listen in \(path)"), origin: "internal.listen in \(path)")
        }
        return Address(url: Self.defaultURL, origin: "the default")
    }

    /// `127.0.0.1:8081` → `http://127.0.0.1:8081`; `unix:PATH` stays as it is.
    static func url(listen: String, origin: String) throws(CommandFailure) -> String {
        let endpoint: ListenAddress
        do {
            endpoint = try ListenAddress(parsing: listen)
        } catch {
            throw CommandFailure("\(origin): \(error.reason)")
        }
        switch endpoint {
        case .unix: return endpoint.description
        case .tcp(let host, let port):
            // A wildcard bind is reached on loopback.
            let reachable = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host
            return "http://" + ListenAddress.tcp(host: reachable, port: port).description
        }
    }

    /// `--api-key-file` (its first non-empty line), else `ECD_API_KEY`.
    func apiKey(environment: [String: String]) throws(CommandFailure) -> String {
        if let apiKeyFile {
            let text: String
            do {
                text = try FileReadError.readText(apiKeyFile)
            } catch {
                throw CommandFailure("--api-key-file: \(error.reason)")
            }
            guard let key = text.split(whereSeparator: \.isNewline).map({ $0.trimmingCharacters(in: .whitespaces) })
                .first(where: { !$0.isEmpty }) else {
                throw CommandFailure("--api-key-file \(apiKeyFile) holds no key")
            }
            return key
        }
        guard let key = environment["ECD_API_KEY"], !key.isEmpty else {
            throw CommandFailure(
                "no API key: pass --api-key-file PATH or export ECD_API_KEY (one of the daemon's internal.api_keys)")
        }
        return key
    }
}

enum OutputFormat {
    case table
    case json
}

/// The few keys of the daemon's configuration file a client needs. Read directly rather than
/// through the daemon's loader: a client must not need the Cronofy secret or the encryption keys.
struct ClientConfigFile {
    let internalListen: String?
    let cronofyRequestsPerMinute: Int?

    init(path: String) throws(CommandFailure) {
        let text: String
        do {
            text = try FileReadError.readText(path)
        } catch {
            throw CommandFailure("--config: \(error.reason)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else {
            throw CommandFailure("--config: \(path) is not valid JSON")
        }
        let root = object as? [String: Any]
        internalListen = (root?["internal"] as? [String: Any])?["listen"] as? String
        cronofyRequestsPerMinute = (root?["refresh"] as? [String: Any])?["cronofy_requests_per_minute"] as? Int
    }
}
