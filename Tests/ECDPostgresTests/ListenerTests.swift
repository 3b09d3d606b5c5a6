import ECDPostgres
import ECDTestSupport
import Foundation
import Testing

/// Collects a listener's events for a test; waits for one matching a condition.
final class EventLog: @unchecked Sendable {
    private let condition = NSCondition()
    private var events: [PostgresListener.Event] = []

    func append(_ event: PostgresListener.Event) {
        condition.withLock {
            events.append(event)
            condition.broadcast()
        }
    }

    var all: [PostgresListener.Event] { condition.withLock { events } }

    var payloads: [String] {
        all.compactMap { if case .notification(_, let payload, _) = $0 { return payload } else { return nil } }
    }

    /// Waits up to `timeout` for an event after the first `skip` ones that satisfies `match`.
    func wait(timeout: TimeInterval, after skip: Int = 0, _ match: (PostgresListener.Event) -> Bool) -> Bool {
        let limit = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if events.dropFirst(skip).contains(where: match) { return true }
            if !condition.wait(until: limit) { return events.dropFirst(skip).contains(where: match) }
        }
    }

    static func isNotification(_ payload: String) -> (PostgresListener.Event) -> Bool {
        { if case .notification(_, payload, _) = $0 { return true } else { return false } }
    }

    static func isListening(_ event: PostgresListener.Event) -> Bool {
        if case .listening = event { return true } else { return false }
    }

    static func isDisconnected(_ event: PostgresListener.Event) -> Bool {
        if case .disconnected = event { return true } else { return false }
    }
}

@Suite("PostgreSQL LISTEN/NOTIFY")
struct ListenerTests {
    @Test func aCommittedNotificationArrivesWithinOneSecondAndARolledBackOneNever() throws {
        try withPool { pool, server in
            let log = EventLog()
            let listener = try PostgresListener(pool.configuration, channels: ["token_cache", "Other Channel"],
                                                handler: log.append)
            listener.start()
            defer { listener.stop() }
            #expect(listener.waitUntilListening(timeout: .seconds(10)))

            struct Planned: Error {}
            _ = try? pool.write { connection in
                try connection.notify("token_cache", payload: "rolled-back")
                throw Planned()
            }
            let sent = Date()
            try pool.write { try $0.notify("token_cache", payload: "account-1") }
            #expect(log.wait(timeout: 1, EventLog.isNotification("account-1")), "not delivered within 1 s")
            #expect(Date().timeIntervalSince(sent) < 1)
            // A channel name needing quotes works; a channel not listened to is not delivered.
            try pool.read { try $0.notify("Other Channel", payload: "quoted") }
            try pool.read { try $0.notify("elsewhere", payload: "unheard") }
            #expect(log.wait(timeout: 1, EventLog.isNotification("quoted")))
            try pool.read { try $0.notify("token_cache", payload: "last") }
            #expect(log.wait(timeout: 1, EventLog.isNotification("last")))
            // Order kept; the rolled-back and the unheard ones never arrived.
            #expect(log.payloads == ["account-1", "quoted", "last"])
            if case .notification(let channel, _, let pid) = log.all.first(where: EventLog.isNotification("quoted")) ?? .listening {
                #expect(channel == "Other Channel")
                #expect(pid > 0)
            }
            _ = server
        }
    }

    @Test func stopEndsTheThreadAndItsConnection() throws {
        try withPool { pool, _ in
            let listener = try PostgresListener(pool.configuration, channels: ["c"], handler: { _ in })
            listener.start()
            #expect(listener.waitUntilListening(timeout: .seconds(10)))
            let listening = try pool.read {
                try $0.queryOne("SELECT count(*) AS c FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()")?.get("c") as Int64?
            }
            #expect(listening == 1)
            listener.stop()
            #expect(!listener.isListening)
            let deadline = Date().addingTimeInterval(5)
            var left: Int64? = 1
            while left != 0, Date() < deadline {
                left = try pool.read {
                    try $0.queryOne("SELECT count(*) AS c FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()")?.get("c")
                }
            }
            #expect(left == 0)
        }
    }
}
