import Foundation

/// Where the internal API listens, as given to `--url`: `http://HOST:PORT[/prefix]` or `unix:PATH`.
/// Only plain HTTP: the internal listener binds loopback or a unix socket (api-contract.md §1).
struct InternalAPIEndpoint: Sendable, Equatable {
    enum Transport: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    let transport: Transport
    /// Path prefix before `/v1/…`, without a trailing slash ("" for none).
    let basePath: String

    /// The `Host` header value.
    var hostHeader: String {
        switch transport {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix: "localhost"
        }
    }

    init(parsing text: String) throws(CommandFailure) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else { throw CommandFailure("--url unix: needs a socket path", exitCode: ECDCommandLine.usageCode) }
            transport = .unix(path: path)
            basePath = ""
            return
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let rawHost = components.host, !rawHost.isEmpty
        else {
            throw CommandFailure("--url must be http://HOST:PORT or unix:PATH", exitCode: ECDCommandLine.usageCode)
        }
        guard scheme == "http" else {
            throw CommandFailure(
                "--url must be plain http:// (the internal API is served on loopback or a unix socket)",
                exitCode: ECDCommandLine.usageCode)
        }
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        transport = .tcp(host: host, port: components.port ?? 80)
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
    }
}
