import ECDSync

/// One refresh per token owner at a time within this process: the first caller starts the work,
/// later callers await the same task. (Across processes the lease columns do the same job.)
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let flights = Locked<[Key: Task<Value, any Error>]>([:])

    func run(_ key: Key, _ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = flights.withLock { flights -> Task<Value, any Error> in
            if let running = flights[key] { return running }
            let task = Task { try await work() }
            flights[key] = task
            return task
        }
        defer { flights.withLock { flights in if flights[key] == task { flights.removeValue(forKey: key) } } }
        return try await task.value
    }
}

/// Whose token: an account (by its stable row id) or a service account (by its id).
enum TokenOwner: Hashable, Sendable {
    case account(Int64)
    case serviceAccount(String)
}
