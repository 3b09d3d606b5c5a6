import ArgumentParser
import Foundation

/// `ecd accounts request`: ask Cronofy for delegated access to up to 1,000 accounts in one call,
/// the emails from arguments, a file or standard input; `--wait` follows them until they settle.
struct AccountsRequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Ask Cronofy for delegated access to accounts (POST /v1/accounts).",
        discussion: """
            Emails come from the arguments, from --file PATH and from standard input when an argument is `-` \
            (one email per line; blank lines and `#` comments are skipped). The daemon answers at once with \
            every account pending and sends the requests to Cronofy in the background. An account that is \
            already active stays active on its current grant while it is asked for again (a renewal); asked \
            for with the same scope and service account it changes nothing unless --renew is given. --wait \
            then shows progress until every account is active (with no renewal left pending) or failed \
            (exit code 1 when any failed, or any renewal failed).
            """)
    @OptionGroup var client: ClientOptions
    @Argument(help: "Emails (up to 1,000 in all); `-` reads more from standard input.") var emails: [String] = []
    @Option(help: ArgumentHelp("A file of emails, one per line (`#` starts a comment).", valueName: "path")) var file: String?
    @Option(help: "Scope to ask for (default: accounts.default_scope).") var scope: String?
    @Option(name: .customLong("service-account-id"), help: "The service account to ask through (needed when several could).")
    var serviceAccountID: String?
    @Flag(help: "Ask again for accounts already active with this scope (a renewal; they stay active meanwhile).")
    var renew = false
    @Flag(help: "Wait until every account is active or failed (and every renewal done), showing progress.") var wait = false
    @Option(name: .customLong("wait-timeout"), help: ArgumentHelp("Give up waiting after this many seconds (default: no limit).", valueName: "seconds"))
    var waitTimeout: Double?
    @Option(help: ArgumentHelp("Seconds between polls with --wait.", valueName: "seconds")) var interval: Double = 1

    static let maxAccounts = 1000

    func validate() throws {
        guard !emails.isEmpty || file != nil else { throw ValidationError("give at least one email, --file PATH, or `-` for standard input") }
        guard emails.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("`-` (standard input) may be given once") }
        if let waitTimeout, waitTimeout <= 0 { throw ValidationError("--wait-timeout must be positive") }
        guard interval > 0, interval <= 60 else { throw ValidationError("--interval must be between 0 and 60 seconds") }
    }

    struct Entry: Encodable {
        let email: String
        let scope: String?
        let serviceAccountID: String?
        /// Sent only when true (`"renew": true`).
        let renew: Bool?
        enum CodingKeys: String, CodingKey { case email, scope, renew, serviceAccountID = "service_account_id" }
    }

    struct Batch: Encodable { let accounts: [Entry] }

    func run() throws {
        let all = try collectEmails()
        guard !all.isEmpty else { throw CommandFailure("no emails given (the file or standard input held none)") }
        guard all.count <= Self.maxAccounts else {
            throw CommandFailure("\(all.count) emails: at most \(Self.maxAccounts) per request; split the list")
        }
        let api = try client.client()
        let entries = all.map { Entry(email: $0, scope: scope, serviceAccountID: serviceAccountID, renew: renew ? true : nil) }
        let body = try JSONEncoder().encode(Batch(accounts: entries))
        let answer = try api.send("POST", "/v1/accounts", json: Array(body))
        let requested = try InternalAPIClient.decode(AccountListView.self, answer)
        guard wait else {
            if client.format == .json { return printResponse(answer) }
            let pending = requested.accounts.filter { $0.status == "pending" }.count
            let renewing = requested.accounts.filter(\.isRenewing).count
            return StandardStreams.out(
                "requested \(requested.accounts.count) account\(requested.accounts.count == 1 ? "" : "s") (\(pending) pending"
                    + (renewing > 0 ? ", \(renewing) renewing" : "") + "); "
                    + "follow them with --wait or `ecd accounts list --status pending`")
        }
        let waiter = RequestWaiter(
            api: api, emails: requested.accounts.map(\.email),
            renewals: Set(requested.accounts.filter(\.isRenewing).map { $0.email.lowercased() }), format: client.format,
            live: client.format == .table && Terminal.isTerminal(.standardOutput),
            requestsPerMinute: budget(), interval: interval, timeout: waitTimeout)
        try waiter.run()
    }

    /// Arguments first, then the file, then standard input, in order; duplicates are left for the
    /// daemon to name (its 422 says which entries repeat which).
    func collectEmails() throws(CommandFailure) -> [String] {
        var result: [String] = []
        for argument in emails where argument != "-" { result.append(argument) }
        if let file {
            let text: String
            do { text = try FileReadError.readText(file) } catch { throw CommandFailure("--file: \(error.reason)") }
            result += Self.emails(in: text)
        }
        if emails.contains("-") {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let text = String(data: data, encoding: .utf8) else { throw CommandFailure("standard input is not UTF-8 text") }
            result += Self.emails(in: text)
        }
        return result
    }

    /// One email per line; blank lines skipped, `#` to the end of a line is a comment.
    static func emails(in text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let email = content.trimmingCharacters(in: .whitespaces)
            return email.isEmpty ? nil : email
        }
    }

    /// `refresh.cronofy_requests_per_minute` of the configuration when there is one, for the
    /// estimate; else the daemon's default.
    private func budget() -> Int {
        let path = client.configPath
            ?? (FileManager.default.fileExists(atPath: ConfigurationDefaults.configPath) ? ConfigurationDefaults.configPath : nil)
        if let value = ProcessInfo.processInfo.environment["ECD_REFRESH_CRONOFY_REQUESTS_PER_MINUTE"].flatMap(Int.init), value > 0 {
            return value
        }
        if let path, let value = (try? ClientConfigFile(path: path))?.cronofyRequestsPerMinute, value > 0 { return value }
        return 400
    }
}
