import ArgumentParser
import ECDHTTP
import ECDSimulator
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `ecd simulator`: a local stand-in for Cronofy (api-contract.md §8) until SIGTERM/SIGINT.
struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulator",
        abstract: "Run a local Cronofy simulator for development and tests.",
        discussion: "Serves Cronofy's API and authorize page on one address; see docs/simulator.md for its control endpoint.")

    @Option(help: ArgumentHelp("Address to listen on: HOST:PORT or unix:PATH.", valueName: "address"))
    var listen = "127.0.0.1:9000"
    @Option(name: .customLong("client-id"), help: "The application's client id.")
    var clientID = "sim_client_id"
    @Option(name: .customLong("client-secret"), help: "The application's client secret.")
    var clientSecret = "sim_client_secret"
    @Option(name: .customLong("token-lifetime"), help: ArgumentHelp("Access token lifetime.", valueName: "seconds"))
    var tokenLifetime = 1800
    @Option(name: .customLong("code-lifetime"), help: ArgumentHelp("Authorization code lifetime.", valueName: "seconds"))
    var codeLifetime = 300
    @Flag(name: .customLong("sign-callbacks"), help: "Sign delegated-access callbacks with Cronofy-HMAC-SHA256.")
    var signCallbacks = false
    @Option(parsing: .upToNextOption, help: ArgumentHelp(
        "Answer these emails' delegated access with unable_to_grant_scope.", valueName: "email"))
    var refuse: [String] = []
    @Option(name: .customLong("drop-callbacks"), parsing: .upToNextOption, help: ArgumentHelp(
        "Never send these emails' callbacks.", valueName: "email"))
    var dropCallbacks: [String] = []
    @Option(help: "Domain of approved service accounts.")
    var domain: String?
    @Option(help: "Provider of approved service accounts.")
    var provider: String?
    @Option(name: .customLong("service-account-email"), help: "Email of approved service accounts.")
    var serviceAccountEmail: String?
    @Option(name: .customLong("callback-delay"), help: ArgumentHelp("Wait before sending a callback.", valueName: "milliseconds"))
    var callbackDelay: Int?
    @Option(name: .customLong("callback-ca-file"), help: ArgumentHelp(
        "Trust exactly the PEM certificates in this file for https callbacks (a test's private CA).", valueName: "path"))
    var callbackCAFile: String?
    @Option(help: ArgumentHelp(
        "Fail the next COUNT calls of ENDPOINT (token, revoke, authorizations, userinfo, resources or any) with KIND (500, 429, 429@SECONDS, slow@MILLISECONDS).",
        valueName: "endpoint:kind[:count]"))
    var fault: [String] = []
    @Option(name: .customLong("log-format"), help: "Access log on standard error: text or json.")
    var logFormat: LogFormat = .text
    @Flag(help: "No access log.")
    var quiet = false

    /// The simulator's own flag reader checks every value, so the two spellings cannot drift apart.
    func simulatorConfiguration() throws -> SimulatorConfiguration {
        var arguments = [
            "--listen", listen, "--client-id", clientID, "--client-secret", clientSecret,
            "--token-lifetime", String(tokenLifetime), "--code-lifetime", String(codeLifetime),
        ]
        if signCallbacks { arguments.append("--sign-callbacks") }
        for email in refuse { arguments += ["--refuse", email] }
        for email in dropCallbacks { arguments += ["--drop-callbacks", email] }
        if let domain { arguments += ["--domain", domain] }
        if let provider { arguments += ["--provider", provider] }
        if let serviceAccountEmail { arguments += ["--service-account-email", serviceAccountEmail] }
        if let callbackDelay { arguments += ["--callback-delay", String(callbackDelay)] }
        if let callbackCAFile { arguments += ["--callback-ca-file", callbackCAFile] }
        for rule in fault { arguments += ["--fault", rule] }
        do {
            return try SimulatorConfiguration(arguments: arguments)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func validate() throws {
        _ = try simulatorConfiguration()
    }

    func run() async throws {
        var configuration = try simulatorConfiguration()
        if !quiet {
            let logger = ECDLogging.logger(label: "ecd.simulator", settings: LogSettings(level: .info, format: logFormat))
            configuration.onResponse = { request, response, _, duration in
                SimulatorCommand.logRequest(logger, request, response, duration)
            }
        }
        let simulator = CronofySimulator(configuration: configuration)
        let signals = SignalListener(signals: [SIGTERM, SIGINT])
        defer { signals.cancel() }
        do {
            try simulator.start()
        } catch {
            throw CommandFailure("cannot start the simulator: \(error)")
        }
        StandardStreams.out("Cronofy simulator listening on \(simulator.baseURL.absoluteString)")
        _ = await signals.next()
        await simulator.shutdown()
    }

    /// One line per request. Authorize URLs carry `state` and redirects carry `code`, so the target
    /// is logged through ``SecretRedaction``; bodies (tokens, secrets) never are.
    static func logRequest(_ logger: Logger, _ request: HTTPRequest?, _ response: HTTPResponse, _ duration: Duration) {
        let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        logger.info("request", metadata: [
            "method": .string(request?.method.rawValue ?? "-"),
            "target": .string(request.map { SecretRedaction.redactRequestTarget($0.target) } ?? "-"),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .stringConvertible((milliseconds * 100).rounded() / 100),
        ])
    }
}

extension LogFormat: ExpressibleByArgument {}
