import ECDHTTP
import FoundationEssentials

/// A local stand-in for Cronofy's Enterprise Connect API and authorize page (api-contract.md §8), for
/// development, the demo and tests. One listener plays both the api and the app host roles:
///
/// - `GET /enterprise_connect/oauth/authorize` — the admin's approval page (`?auto_approve=1`
///   redirects at once); the page's forms answer at `/enterprise_connect/oauth/decision`.
/// - `POST /oauth/token` — `authorization_code` and `refresh_token` grants, JSON or form.
/// - `POST /oauth/token/revoke` — by `token` or `sub`; a service account cascades.
/// - `POST /v1/service_account_authorizations` — single or batch; 202, then the callbacks.
/// - `GET /v1/userinfo`, `GET /v1/resources`.
/// - `/_simulator/...` — the test-only control endpoint (see `SimulatorControlRoutes`).
///
/// ```swift
/// var configuration = SimulatorConfiguration()
/// configuration.listen = .tcp(host: "127.0.0.1", port: 0)
/// let simulator = CronofySimulator(configuration: configuration)
/// try simulator.start()
/// // point the client's api_url and app_url at simulator.baseURL
/// simulator.control.refuse(email: "room@example.com")
/// await simulator.shutdown()
/// ```
public final class CronofySimulator: Sendable {
    public let configuration: SimulatorConfiguration
    /// Fault injection and inspection; the same operations as the HTTP control endpoint.
    public let control: SimulatorControl
    private let components: SimulatorComponents
    private let server: HTTPServer

    public init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
        components = SimulatorComponents(configuration: configuration)
        control = components.control
        var serverConfiguration = HTTPServerConfiguration(name: "simulator", listen: configuration.listen)
        serverConfiguration.onResponse = configuration.onResponse
        server = HTTPServer(configuration: serverConfiguration, responder: components.router)
    }

    /// Binds and starts serving.
    public func start() throws(HTTPServerError) {
        try server.start()
    }

    /// `http://<host>:<port>` of the bound listener (the real port after binding port 0). A
    /// wildcard host is given as its loopback address, which is how local clients reach it; on a
    /// unix socket this is `http://localhost` and clients must dial the socket themselves.
    public var baseURL: URL {
        switch server.boundAddress {
        case .tcp(let host, let port):
            let reachable = host == "0.0.0.0" ? "127.0.0.1" : (host == "::" ? "::1" : host)
            let bracketed = reachable.contains(":") ? "[\(reachable)]" : reachable
            return URL(string: "http://\(bracketed):\(port)")!
        case .unix:
            return URL(string: "http://localhost")!
        }
    }

    /// The bound TCP port (0 on a unix socket).
    public var port: Int { server.port }

    /// Stops delivering callbacks, then stops the listener (in-flight requests get 2 s).
    public func shutdown() async {
        await components.dispatcher.shutdown()
        await server.shutdown(deadline: .seconds(2))
    }
}
