import Foundation

/// `ecd accounts request --wait`: polls the daemon until every requested account has left
/// `pending` and every renewal of an active account has ended, and shows how far it got.
///
/// Each poll reads the pending accounts (`GET /v1/accounts?status=pending`, paged), and the
/// renewing ones (`?renewal=pending`) when the request renewed any, and fetches each account of
/// ours that has left those lists once, so a poll costs a page per 1,000 open accounts rather than
/// a request per account.
struct RequestWaiter {
    let api: InternalAPIClient
    /// As the daemon's 202 named them, in request order.
    let emails: [String]
    /// The lower-cased emails the daemon's answer showed renewing (active, `renewal.status`
    /// pending): they settle when the renewal ends, and a failed one is reported as such.
    let renewals: Set<String>
    let format: OutputFormat
    /// Redraw one progress line in place (a terminal) rather than print a line per change.
    let live: Bool
    /// `refresh.cronofy_requests_per_minute`, for the estimate before anything has settled.
    let requestsPerMinute: Int
    let interval: Double
    let timeout: Double?

    /// What became of one account: its status, the daemon's JSON object and a failure text.
    struct Outcome {
        var status: String
        var object: Any
        var failure: String?
    }

    func run() throws(CommandFailure) {
        let started = Date()
        var pending = Set(emails.map { $0.lowercased() })
        var outcomes: [String: Outcome] = [:]
        var progress = RequestProgress(total: emails.count, requestsPerMinute: requestsPerMinute)
        while true {
            let renewing = renewals.isEmpty ? [] : try openAccounts(("renewal", "pending")).intersection(pending)
            let stillPending = try openAccounts(("status", "pending")).intersection(pending).union(renewing)
            for key in pending.subtracting(stillPending).sorted() {
                let outcome = try fetch(key)
                guard outcome.status != "pending" else { continue }
                pending.remove(key)
                outcomes[key] = outcome
                progress.record(outcome.status)
                if !live && format == .table {
                    StandardStreams.out([outcome.status, emailSpelling(key), outcome.failure].compactMap { $0 }.joined(separator: "  "))
                }
            }
            let elapsed = Date().timeIntervalSince(started)
            if live {
                StandardStreams.progress(progress.line(pending: pending.count, renewing: renewing.intersection(pending).count,
                                                       elapsed: elapsed))
            }
            if pending.isEmpty { break }
            if let timeout, elapsed >= timeout {
                if live { StandardStreams.progress(nil) }
                report(outcomes, progress: progress, elapsed: elapsed)
                throw CommandFailure("\(pending.count) of \(emails.count) accounts still pending after \(Int(timeout)) s")
            }
            Thread.sleep(forTimeInterval: interval)
        }
        let elapsed = Date().timeIntervalSince(started)
        if live { StandardStreams.progress(nil) }
        report(outcomes, progress: progress, elapsed: elapsed)
        var failures: [String] = []
        if progress.failed > 0 { failures.append("\(progress.failed) of \(emails.count) accounts did not become active") }
        if progress.renewalFailed > 0 {
            failures.append("\(progress.renewalFailed) of \(emails.count) renewals failed (those accounts keep their current grant)")
        }
        if !failures.isEmpty { throw CommandFailure(failures.joined(separator: "; ")) }
    }

    private func emailSpelling(_ key: String) -> String {
        emails.first { $0.lowercased() == key } ?? key
    }

    /// The emails (lower-cased) of every account the filter keeps, page by page.
    private func openAccounts(_ filter: (String, String)) throws(CommandFailure) -> Set<String> {
        var result = Set<String>()
        var after: String?
        repeat {
            let page = try api.get(AccountListView.self, "/v1/accounts", query: [(filter.0, filter.1), ("limit", "1000"), ("after", after)])
            for account in page.accounts { result.insert(account.email.lowercased()) }
            after = page.next
        } while after != nil
        return result
    }

    private func fetch(_ key: String) throws(CommandFailure) -> Outcome {
        let body = try api.send("GET", "/v1/accounts/\(InternalAPIClient.encode(emailSpelling(key)))")
        let account = try InternalAPIClient.decode(AccountView.self, body)
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) ?? [:]
        // Still renewing (it left the list between the two reads): not settled, like `pending`.
        if account.isRenewing { return Outcome(status: "pending", object: object, failure: nil) }
        if renewals.contains(key), account.status == "active", let renewal = account.renewal, renewal.status == "failed" {
            return Outcome(status: "renewal_failed", object: object, failure: renewal.error?.text)
        }
        return Outcome(status: account.status, object: object, failure: account.failureText)
    }

    /// The final word: the accounts as JSON, or a summary and the accounts that did not become active.
    private func report(_ outcomes: [String: Outcome], progress: RequestProgress, elapsed: Double) {
        switch format {
        case .json:
            let objects = emails.compactMap { outcomes[$0.lowercased()]?.object }
            let data = (try? JSONSerialization.data(withJSONObject: ["accounts": objects], options: [.sortedKeys])) ?? Data()
            StandardStreams.out(String(decoding: data, as: UTF8.self))
        case .table:
            StandardStreams.out(progress.summary(elapsed: elapsed))
            let notActive = emails.compactMap { email in outcomes[email.lowercased()].map { (email, $0) } }
                .filter { $0.1.status != "active" }
            guard live, !notActive.isEmpty else { return }
            var table = TableOutput(["EMAIL", "STATUS", "ERROR"])
            for (email, outcome) in notActive { table.add([email, outcome.status, outcome.failure]) }
            StandardStreams.out(table.rendered)
        }
    }
}

/// Counts and the time estimate of a `--wait`.
struct RequestProgress {
    let total: Int
    let requestsPerMinute: Int
    private(set) var active = 0
    private(set) var failed = 0
    /// Renewals that failed: the accounts are active on their current grant.
    private(set) var renewalFailed = 0

    init(total: Int, requestsPerMinute: Int) {
        self.total = total
        self.requestsPerMinute = requestsPerMinute
    }

    /// Anything but `active` that is no longer pending (failed, revoked…) did not succeed.
    mutating func record(_ status: String) {
        switch status {
        case "active": active += 1
        case "renewal_failed": renewalFailed += 1
        default: failed += 1
        }
    }

    var settled: Int { active + failed + renewalFailed }

    /// Seconds left: from the pace so far once something settled; before that, from the request
    /// budget: a call to Cronofy per 50 requests, then one per account to exchange its code, at
    /// `requestsPerMinute` calls a minute (the callbacks' own delay is Cronofy's to choose).
    func estimate(pending: Int, elapsed: Double) -> Double {
        if settled > 0 { return Double(pending) * elapsed / Double(settled) }
        let calls = (pending + 49) / 50 + pending
        return Double(calls) * 60 / Double(max(1, requestsPerMinute))
    }

    /// `[#####.....] 640/1000 · 630 active · 10 failed · 360 pending (5 renewing) · about 12 s left`;
    /// renewals (and failed ones) are named only when there are any.
    func line(pending: Int, renewing: Int = 0, elapsed: Double) -> String {
        let width = 24
        let filled = total == 0 ? width : settled * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var text = "[\(bar)] \(settled)/\(total) · \(active) active · \(failed) failed"
        if renewalFailed > 0 { text += " · \(renewalFailed) renewal\(renewalFailed == 1 ? "" : "s") failed" }
        text += " · \(pending) pending"
        if renewing > 0 { text += " (\(renewing) renewing)" }
        if pending > 0 {
            let basis = settled > 0 ? "" : " (request budget \(requestsPerMinute)/min)"
            text += " · about \(Self.duration(estimate(pending: pending, elapsed: elapsed))) left\(basis)"
        }
        return text
    }

    func summary(elapsed: Double) -> String {
        "\(settled) of \(total) account\(total == 1 ? "" : "s") settled in \(Self.duration(elapsed)): \(active) active, \(failed) failed"
            + (renewalFailed > 0 ? ", \(renewalFailed) renewal\(renewalFailed == 1 ? "" : "s") failed" : "")
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        return whole < 120 ? "\(whole) s" : "\(whole / 60) min \(whole % 60) s"
    }
}
