import ECDCSQLite

/// Owns the `sqlite3*` and the prepared-statement cache. Used only on its database's queue.
final class ConnectionHandle {
    private(set) var pointer: OpaquePointer?
    private var cache: [String: CachedStatement] = [:]
    private var clock: UInt64 = 0
    let cacheCapacity: Int

    private struct CachedStatement {
        let statement: Statement
        var lastUse: UInt64
        var inUse: Bool
    }

    init(pointer: OpaquePointer, cacheCapacity: Int) {
        self.pointer = pointer
        self.cacheCapacity = cacheCapacity
    }

    deinit { close() }

    var db: OpaquePointer {
        guard let pointer else { preconditionFailure("SQLite connection used after close") }
        return pointer
    }

    var cachedStatementCount: Int { cache.count }

    // MARK: - Statement cache

    /// Runs `body` with a prepared statement for the single statement in `sql`: the cached one when
    /// it is free, else a fresh one (kept in the cache when there is room or after evicting the
    /// least recently used). The statement is reset and unbound before it goes back.
    func withStatement<T>(_ sql: String, _ body: (Statement) throws -> T) throws -> T {
        clock &+= 1
        if var entry = cache[sql], !entry.inUse {
            entry.inUse = true
            entry.lastUse = clock
            cache[sql] = entry
            defer {
                entry.statement.reset()
                cache[sql]?.inUse = false
            }
            return try body(entry.statement)
        }
        var tail = ""
        guard let statement = try Statement.prepare(db, sql: sql, tail: &tail) else {
            throw SQLiteError.misuse("no SQL statement to run", sql: sql)
        }
        guard Self.isBlank(tail) else {
            throw SQLiteError.misuse("expected one SQL statement, found more", sql: sql)
        }
        let cacheable = cache[sql] == nil   // a busy cached copy (nested use) stays where it is
        if cacheable {
            evictIfFull()
            cache[sql] = CachedStatement(statement: statement, lastUse: clock, inUse: true)
        }
        defer {
            statement.reset()
            if cacheable { cache[sql]?.inUse = false }
        }
        return try body(statement)
    }

    /// Runs every statement of `sql` in order, uncached (schema scripts, PRAGMAs).
    func executeScript(_ sql: String) throws {
        var remaining = sql
        while !Self.isBlank(remaining) {
            var tail = ""
            if let statement = try Statement.prepare(db, sql: remaining, tail: &tail) {
                while try statement.step() {}
            }
            remaining = tail
        }
    }

    private func evictIfFull() {
        guard cache.count >= cacheCapacity else { return }
        if let oldest = cache.filter({ !$0.value.inUse }).min(by: { $0.value.lastUse < $1.value.lastUse }) {
            cache.removeValue(forKey: oldest.key)   // Statement.deinit finalizes it
        }
    }

    static func isBlank(_ sql: String) -> Bool {
        sql.utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0x3B }
    }

    // MARK: - Closing

    /// Finalizes every cached statement, then closes with `sqlite3_close`. Returns the SQL of any
    /// statement still unfinalized (a leak: the handle then closes when the last one finalizes).
    @discardableResult
    func close() -> [String] {
        guard let pointer else { return [] }
        cache.removeAll()
        var leaked: [String] = []
        if sqlite3_close(pointer) == SQLITE_BUSY {
            var statement = sqlite3_next_stmt(pointer, nil)
            while let current = statement {
                leaked.append(sqlite3_sql(current).map { String(cString: $0) } ?? "?")
                statement = sqlite3_next_stmt(pointer, current)
            }
            // Never leave the file open: make the handle a zombie that SQLite frees once the
            // leaked statements are finalized.
            sqlite3_close_v2(pointer)
        }
        self.pointer = nil
        return leaked
    }
}
