import ArgumentParser
import Foundation

/// `ecd token EMAIL`: a valid access token for an account.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print an access token for an account (GET /v1/accounts/{email}/token).",
        discussion: "The token object is printed as JSON on standard output; treat it as a secret.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The account's email.") var email: String
    @Option(name: .customLong("min-validity"), help: "Seconds the token must stay valid (default 60, at most 3600).")
    var minValidity: Int?

    func validate() throws {
        if let minValidity, !(0...3600).contains(minValidity) { throw ValidationError("--min-validity must be 0…3600") }
    }

    func run() throws {
        printResponse(try client.client().send(
            "GET", "/v1/accounts/\(InternalAPIClient.encode(email))/token", query: [("min_validity", minValidity.map(String.init))]))
    }
}

/// `ecd connect-link`: a one-time link an administrator opens to connect a service account.
struct ConnectLinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect-link",
        abstract: "Create a one-time link that connects a service account (POST /v1/service-accounts/connect-links).")
    @OptionGroup var client: ClientOptions
    @Option(help: "A label to remember the service account by.") var label: String?
    @Option(help: "Scope for the service account (default: service_account.scope).") var scope: String?
    @Option(name: .customLong("delegated-scope"), help: "Ceiling of account scopes (default: service_account.delegated_scope).")
    var delegatedScope: String?

    struct Body: Encodable {
        let label: String?
        let scope: String?
        let delegatedScope: String?
        enum CodingKeys: String, CodingKey { case label, scope, delegatedScope = "delegated_scope" }
    }

    struct Link: Decodable {
        let url: String
        let expiresAt: String?
        enum CodingKeys: String, CodingKey { case url, expiresAt = "expires_at" }
    }

    func run() throws {
        let body = try JSONEncoder().encode(Body(label: label, scope: scope, delegatedScope: delegatedScope))
        let answer = try client.client().send("POST", "/v1/service-accounts/connect-links", json: Array(body))
        guard client.format == .table else { return printResponse(answer) }
        // The URL alone on its line, so a terminal makes it clickable and a copy takes nothing else.
        let link = try InternalAPIClient.decode(Link.self, answer)
        StandardStreams.out(link.url + "\n" + "(for the administrator to open; single use, expires at \(link.expiresAt ?? "-"))")
    }
}
