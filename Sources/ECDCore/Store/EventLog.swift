import ECDSQLite
import Foundation

/// The append-only event table. Events are written inside the transaction of the change they
/// describe, so an event exists exactly when its change does.
enum EventLog {
    @discardableResult
    static func append(_ connection: Connection, _ type: EventType, serviceAccountID: String?, email: String?,
                       data: [String: JSONValue] = [:], at: Date = Date()) throws -> Int64 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(data), as: UTF8.self)
        try connection.execute(
            "INSERT INTO events (type, at, service_account_id, email, data) VALUES (?, ?, ?, ?, ?)",
            [type.rawValue, at, serviceAccountID, email, text])
        return connection.lastInsertRowID
    }

    static func page(_ connection: Connection, after: Int64, limit: Int) throws -> [Event] {
        try connection.query(
            "SELECT id, type, at, service_account_id, email, data FROM events WHERE id > ? ORDER BY id LIMIT ?",
            [after, limit]
        ).map(event(from:))
    }

    static func event(from row: Row) throws -> Event {
        let text: String = try row.get("data")
        let data = (try? JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8))) ?? [:]
        let typeName: String = try row.get("type")
        guard let type = EventType(rawValue: typeName) else {
            throw CoreError.notFound("event type \(typeName)")
        }
        return Event(id: try row.get("id"), type: type, at: try row.get("at"),
                     serviceAccountID: row.optional("service_account_id"), email: row.optional("email"), data: data)
    }
}
