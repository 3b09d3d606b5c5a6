import ArgumentParser
import Foundation

/// `ecd service-accounts list|show|revoke`: the connected service accounts.
struct ServiceAccountsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service-accounts",
        abstract: "List, show or revoke connected service accounts through the internal API.",
        discussion: "New service accounts are connected with `ecd connect-link`.",
        subcommands: [List.self, Show.self, Revoke.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List service accounts (GET /v1/service-accounts).")
        @OptionGroup var client: ClientOptions

        func run() throws {
            let body = try client.client().send("GET", "/v1/service-accounts")
            guard client.format == .table else { return printResponse(body) }
            let list = try InternalAPIClient.decode(ServiceAccountListView.self, body)
            guard !list.serviceAccounts.isEmpty else {
                return StandardStreams.out("no service accounts: connect one with `ecd connect-link`")
            }
            var table = TableOutput(["ID", "STATUS", "EMAIL", "DOMAIN", "PROVIDER", "LABEL", "CONNECTED"])
            for account in list.serviceAccounts {
                table.add([account.id, account.status, account.email, account.domain, account.provider, account.label,
                           account.connectedAt])
            }
            StandardStreams.out(table.rendered)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one service account (GET /v1/service-accounts/{id}).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The service account's id (ser_…).") var id: String

        func run() throws {
            try ServiceAccountsCommand.printServiceAccount(
                try client.client().send("GET", "/v1/service-accounts/\(InternalAPIClient.encode(id))"), format: client.format)
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a service account at Cronofy and erase its tokens (DELETE /v1/service-accounts/{id}).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The service account's id (ser_…).") var id: String

        func run() throws {
            try ServiceAccountsCommand.printServiceAccount(
                try client.client().send("DELETE", "/v1/service-accounts/\(InternalAPIClient.encode(id))"), format: client.format)
        }
    }

    static func printServiceAccount(_ body: [UInt8], format: OutputFormat) throws(CommandFailure) {
        guard format == .table else { return printResponse(body) }
        let account = try InternalAPIClient.decode(ServiceAccountView.self, body)
        StandardStreams.out(TableOutput.fields([
            ("id", account.id), ("status", account.status), ("email", account.email), ("domain", account.domain),
            ("provider", account.provider), ("label", account.label), ("scope", account.scope),
            ("delegated scope", account.delegatedScope), ("connected at", account.connectedAt), ("updated at", account.updatedAt),
        ]))
    }
}
