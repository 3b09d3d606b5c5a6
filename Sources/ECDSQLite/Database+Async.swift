extension Database {
    /// `read` for async callers: the body runs on the database queue while the calling task is
    /// suspended, so a slow statement never holds one of the (few) cooperative-pool threads.
    public func asyncRead<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await onQueueAsync { handle in
            let connection = Connection(handle: handle)
            defer { connection.invalidate() }
            return try body(connection)
        }
    }

    /// `write` for async callers: the transaction, and its fsync at COMMIT, run on the database
    /// queue while the calling task is suspended.
    public func asyncWrite<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await onQueueAsync { handle in try Self.inTransaction(handle, body) }
    }
}
