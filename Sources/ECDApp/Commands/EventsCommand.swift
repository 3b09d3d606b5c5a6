import ArgumentParser
import Foundation

/// `ecd events [--follow]`: the event log (GET /v1/events?after=), once or as it grows.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print the event log (GET /v1/events); with --follow, keep printing new events.",
        discussion: """
            Starts after --after (default: the beginning). With --follow, one line per event as it is \
            written (a JSON object per line with --json or in a pipe), until interrupted; the last id \
            printed is the --after to resume from.
            """)
    @OptionGroup var client: ClientOptions
    @Option(help: "Only events after this id.") var after: Int64?
    @Option(help: "At most this many events per page (1…1000, default 100; --follow reads 1000).") var limit: Int?
    @Flag(help: "Keep polling for new events until interrupted.") var follow = false
    @Option(help: ArgumentHelp("Seconds between polls with --follow.", valueName: "seconds")) var interval: Double = 2

    func validate() throws {
        if let limit, !(1...1000).contains(limit) { throw ValidationError("--limit must be between 1 and 1000") }
        if let after, after < 0 { throw ValidationError("--after must be an event id (≥ 0)") }
        guard interval > 0, interval <= 3600 else { throw ValidationError("--interval must be between 0 and 3600 seconds") }
    }

    func run() throws {
        let api = try client.client()
        guard follow else {
            let body = try api.send("GET", "/v1/events", query: [("after", after.map(String.init)), ("limit", limit.map(String.init))])
            guard client.format == .table else { return printResponse(body) }
            let page = try InternalAPIClient.decode(EventPageView.self, body)
            var table = TableOutput(["ID", "AT", "TYPE", "SUBJECT", "DATA"])
            for event in page.events { table.add([String(event.id), event.at, event.type, Self.subject(event), event.dataText]) }
            StandardStreams.out(page.events.isEmpty ? "no events after \(page.nextAfter)" : table.rendered)
            return
        }
        var cursor = after ?? 0
        let pageSize = limit ?? 1000
        let format = client.format
        if format == .table { StandardStreams.out("following events after \(cursor) (Ctrl-C to stop)") }
        while true {
            let page = try api.get(EventPageView.self, "/v1/events", query: [("after", String(cursor)), ("limit", String(pageSize))])
            for event in page.events { StandardStreams.out(Self.line(event, format: format)) }
            cursor = page.nextAfter
            // A full page means more are waiting: read on at once.
            if page.events.count < pageSize { Thread.sleep(forTimeInterval: interval) }
        }
    }

    /// The email of an account event, else the service account.
    static func subject(_ event: EventView) -> String? {
        event.email ?? event.serviceAccountID
    }

    static func line(_ event: EventView, format: OutputFormat) -> String {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: (try? encoder.encode(event)) ?? Data(), as: UTF8.self)
        case .table:
            return [String(event.id), event.at, event.type, subject(event) ?? "-", event.dataText]
                .filter { !$0.isEmpty }.joined(separator: "  ")
        }
    }
}
