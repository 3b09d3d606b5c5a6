import ArgumentParser
import Foundation

/// `ecd accounts list|show|request|refresh|revoke`: the accounts routes of the internal API.
struct AccountsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts",
        abstract: "List, show, request, refresh or revoke delegated accounts through the internal API.",
        discussion: """
            The daemon is --url, else ECD_URL, else the configuration's internal.listen; the API key is \
            --api-key-file, else ECD_API_KEY. Tables on a terminal, the daemon's JSON with --json (or in a pipe); \
            an error answer goes to standard error with exit code 1.
            """,
        subcommands: [List.self, Show.self, AccountsRequestCommand.self, Refresh.self, Revoke.self])

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
            let body = try client.client().send("GET", "/v1/accounts", query: [
                ("status", status), ("service_account_id", serviceAccountID), ("limit", limit.map(String.init)), ("after", after),
            ])
            guard client.format == .table else { return printResponse(body) }
            let page = try InternalAPIClient.decode(AccountListView.self, body)
            var table = TableOutput(["EMAIL", "STATUS", "SERVICE ACCOUNT", "SCOPE", "TOKEN EXPIRES", "ERROR"])
            for account in page.accounts {
                table.add([account.email, account.status, account.serviceAccountID, account.scope, account.tokenExpiresAt,
                           account.failureText])
            }
            var text = page.accounts.isEmpty ? "no accounts" : table.rendered
            if let next = page.next { text += "\nmore: --after \(next)" }
            StandardStreams.out(text)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one account (GET /v1/accounts/{email}).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The account's email.") var email: String

        func run() throws {
            try AccountsCommand.printAccount(try client.client().send("GET", "/v1/accounts/\(InternalAPIClient.encode(email))"), format: client.format)
        }
    }

    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refresh an account's token now (POST /v1/accounts/{email}/refresh).",
            discussion: "With --json the new token object is printed (a secret); a table shows only when it expires.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The account's email.") var email: String

        func run() throws {
            let body = try client.client().send("POST", "/v1/accounts/\(InternalAPIClient.encode(email))/refresh")
            guard client.format == .table else { return printResponse(body) }
            let token = try InternalAPIClient.decode(TokenView.self, body)
            StandardStreams.out(TableOutput.fields([
                ("refreshed", email), ("expires at", token.expiresAt), ("expires in", token.expiresIn.map { "\($0) s" }),
                ("scope", token.scope),
            ]))
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an account at Cronofy and erase its tokens (DELETE /v1/accounts/{email}).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The account's email.") var email: String

        func run() throws {
            try AccountsCommand.printAccount(try client.client().send("DELETE", "/v1/accounts/\(InternalAPIClient.encode(email))"), format: client.format)
        }
    }

    /// One account: the JSON answer, or its fields one per line.
    static func printAccount(_ body: [UInt8], format: OutputFormat) throws(CommandFailure) {
        guard format == .table else { return printResponse(body) }
        let account = try InternalAPIClient.decode(AccountView.self, body)
        StandardStreams.out(TableOutput.fields([
            ("email", account.email), ("status", account.status), ("service account", account.serviceAccountID),
            ("scope", account.scope), ("requested at", account.requestedAt), ("authorized at", account.authorizedAt),
            ("token expires", account.tokenExpiresAt), ("error", account.failureText), ("updated at", account.updatedAt),
        ]))
    }
}
