import ArgumentParser
import Foundation

/// `ecd audit [--follow]`: the audit log (GET /v1/audit?after=, an admin key), once or as it grows.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Print the audit log (GET /v1/audit, admin key); with --follow, keep printing new lines.",
        discussion: """
            Who read or changed what: one line per token read, refresh, revoke, connect link, account \
            request and forbidden call. Starts after --after (default: the beginning). With --follow, \
            one line per entry as it is written (the JSON line itself with --json or in a pipe), until \
            interrupted; the last id printed is the --after to resume from.
            """)
    @OptionGroup var client: ClientOptions
    @Option(help: "Only lines after this id.") var after: Int64?
    @Option(help: "At most this many lines per page (1…1000, default 100; --follow reads 1000).") var limit: Int?
    @Flag(help: "Keep polling for new lines until interrupted.") var follow = false
    @Option(help: ArgumentHelp("Seconds between polls with --follow.", valueName: "seconds")) var interval: Double = 2

    func validate() throws {
        if let limit, !(1...1000).contains(limit) { throw ValidationError("--limit must be between 1 and 1000") }
        if let after, after < 0 { throw ValidationError("--after must be an audit line id (≥ 0)") }
        guard interval > 0, interval <= 3600 else { throw ValidationError("--interval must be between 0 and 3600 seconds") }
    }

    func run() throws {
        let api = try client.client()
        guard follow else {
            let body = try api.send("GET", "/v1/audit", query: [("after", after.map(String.init)), ("limit", limit.map(String.init))])
            guard client.format == .table else { return printResponse(body) }
            let page = try InternalAPIClient.decode(AuditPageView.self, body)
            var table = TableOutput(["ID", "TIME", "KEY", "ACTION", "TARGET", "OUTCOME", "CLIENT"])
            for entry in page.entries {
                table.add([String(entry.id), entry.time, entry.key, entry.action, entry.target, entry.outcomeText, entry.client])
            }
            StandardStreams.out(page.entries.isEmpty ? "no audit lines after \(page.nextAfter)" : table.rendered)
            return
        }
        var cursor = after ?? 0
        let pageSize = limit ?? 1000
        let format = client.format
        if format == .table { StandardStreams.out("following the audit log after \(cursor) (Ctrl-C to stop)") }
        while true {
            let page = try api.get(AuditPageView.self, "/v1/audit", query: [("after", String(cursor)), ("limit", String(pageSize))])
            for entry in page.entries { StandardStreams.out(Self.line(entry, format: format)) }
            cursor = page.nextAfter
            // A full page means more are waiting: read on at once.
            if page.entries.count < pageSize { Thread.sleep(forTimeInterval: interval) }
        }
    }

    static func line(_ entry: AuditEntryView, format: OutputFormat) -> String {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: (try? encoder.encode(entry)) ?? Data(), as: UTF8.self)
        case .table:
            return [String(entry.id), entry.time, entry.key, entry.action, entry.target ?? "-", entry.outcomeText, entry.client]
                .joined(separator: "  ")
        }
    }
}

/// One audit line as `GET /v1/audit` returns it.
struct AuditEntryView: Codable, Sendable {
    let id: Int64
    let time: String
    let key: String
    let action: String
    let target: String?
    let outcome: String
    let status: Int?
    let permission: String?
    let requestID: String
    let client: String

    enum CodingKeys: String, CodingKey {
        case id, time, key, action, target, outcome, status, permission, client
        case requestID = "request_id"
    }

    /// `ok`, or `forbidden (events:read)`.
    var outcomeText: String { permission.map { "\(outcome) (\($0))" } ?? outcome }
}

struct AuditPageView: Decodable, Sendable {
    let entries: [AuditEntryView]
    let nextAfter: Int64
    enum CodingKeys: String, CodingKey { case entries, nextAfter = "next_after" }
}
