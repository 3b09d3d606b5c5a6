import FoundationEssentials

/// Reads of the event log, in pages.
extension EventFeed {
    func events(after: Int64?, limit: Int) async throws -> EventPage {
        guard (1...1000).contains(limit) else { throw CoreError.invalid(field: "limit", message: "between 1 and 1000") }
        let start = max(0, after ?? 0)
        let events = try await storage.read { try $0.events(after: start, limit: limit) }
        return EventPage(events: events, nextAfter: events.last?.id ?? start)
    }
}
