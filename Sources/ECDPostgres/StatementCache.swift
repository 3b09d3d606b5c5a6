/// The prepared statements of one connection: SQL text → server-side name. Bounded, least
/// recently used first out, because every prepared statement holds memory in the backend.
final class StatementCache {
    private struct Entry {
        let name: String
        var lastUse: UInt64
    }

    private var entries: [String: Entry] = [:]
    private var clock: UInt64 = 0
    private var counter = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { entries.count }

    func name(for sql: String) -> String? {
        guard var entry = entries[sql] else { return nil }
        clock &+= 1
        entry.lastUse = clock
        entries[sql] = entry
        return entry.name
    }

    /// A fresh name, unique for the life of the connection (names are per connection, so two
    /// connections may use the same one).
    func nextName() -> String {
        counter += 1
        return "ecd_\(counter)"
    }

    /// The entry to deallocate before a new one is added, when the cache is full.
    func evictionCandidate() -> (sql: String, name: String)? {
        guard entries.count >= capacity,
              let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { return nil }
        return (oldest.key, oldest.value.name)
    }

    func remember(_ sql: String, as name: String) {
        clock &+= 1
        entries[sql] = Entry(name: name, lastUse: clock)
    }

    func forget(_ sql: String) { entries.removeValue(forKey: sql) }
}
