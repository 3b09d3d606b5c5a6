import ArgumentParser
import Foundation

/// `ecd accounts list|show|request|revoke`: the accounts routes of the internal API.
struct AccountsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts",
        abstract: "List, show, request or revoke delegated accounts through the internal API.",
        discussion: "The API key is read from ECD_API_KEY. Prints the JSON answer; an error answer goes to standard error with exit code 1.",
        subcommands: [List.self, Show.self, Request.self, Revoke.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts ordered by email (GET /v1/accounts).")
        @OptionGroup var client: ClientOptions
        @Option(help: "Only accounts in this status (pending, active, failed, reauthorization_required, revoked).")
        var status: String?
        @Option(name: .customLong("service-account-id"), help: "Only accounts under this service account.")
        var serviceAccountID: String?
        @Option(help: "At most this many accounts (1…1000, default 100).")
        var limit: Int?
        @Option(help: "The `next` cursor of the previous page.")
        var after: String?

        func validate() throws {
            if let limit, !(1...1000).contains(limit) { throw ValidationError("--limit must be between 1 and 1000") }
        }

        func run() throws {
            printResponse(try client.client().send("GET", "/v1/accounts", query: [
                ("status", status), ("service_account_id", serviceAccountID), ("limit", limit.map(String.init)), ("after", after),
            ]))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one account (GET /v1/accounts/{email}).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The account's email.") var email: String

        func run() throws {
            printResponse(try client.client().send("GET", "/v1/accounts/\(InternalAPIClient.encode(email))"))
        }
    }

    struct Request: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask Cronofy for delegated access to accounts (POST /v1/accounts).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "One or more emails (up to 1,000).") var emails: [String]
        @Option(help: "Scope to ask for (default: accounts.default_scope).") var scope: String?
        @Option(name: .customLong("service-account-id"), help: "The service account to ask through (needed when several could).")
        var serviceAccountID: String?

        func validate() throws {
            guard !emails.isEmpty else { throw ValidationError("give at least one email") }
            guard emails.count <= 1000 else { throw ValidationError("at most 1,000 emails per request") }
        }

        struct Entry: Encodable {
            let email: String
            let scope: String?
            let serviceAccountID: String?
            enum CodingKeys: String, CodingKey { case email, scope, serviceAccountID = "service_account_id" }
        }

        struct Batch: Encodable { let accounts: [Entry] }

        func run() throws {
            let entries = emails.map { Entry(email: $0, scope: scope, serviceAccountID: serviceAccountID) }
            let body = entries.count == 1 ? try JSONEncoder().encode(entries[0]) : try JSONEncoder().encode(Batch(accounts: entries))
            printResponse(try client.client().send("POST", "/v1/accounts", json: Array(body)))
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an account at Cronofy and erase its tokens (DELETE /v1/accounts/{email}).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The account's email.") var email: String

        func run() throws {
            printResponse(try client.client().send("DELETE", "/v1/accounts/\(InternalAPIClient.encode(email))"))
        }
    }
}

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

    func run() throws {
        let body = try JSONEncoder().encode(Body(label: label, scope: scope, delegatedScope: delegatedScope))
        printResponse(try client.client().send("POST", "/v1/service-accounts/connect-links", json: Array(body)))
    }
}
