/// How Cronofy reads a delegated-access request's `scope` against the service account's granted
/// `delegated_scope` (cronofy-api.md §"delegated_scope values" and §8). Kept apart from ECDCore's
/// copy on purpose (Package.swift): the simulator states Cronofy's rules on its own.
///
/// - `read_events` implies `read_free_busy` (docs: request-authorization, `scope`).
/// - `read_only`, `write_only`, `read_write` are simplified scopes (same page); their word lists
///   are not published, so the simulator takes the narrow reading: `read_only` = read_account
///   list_calendars read_events read_free_busy, `write_only` = create_event delete_event,
///   `read_write` = both.
/// - `free_busy` (free/busy-only mailboxes such as rooms) and `free_busy_write` (access modes)
///   must be in `delegated_scope` by name (docs: enterprise-connect/free-busy-only,
///   access-modes/free-busy).
enum DelegatedScopes {
    static let read: Set<String> = ["read_account", "list_calendars", "read_events", "read_free_busy"]
    static let write: Set<String> = ["create_event", "delete_event"]
    static let shorthands: [String: Set<String>] = ["read_only": read, "write_only": write, "read_write": read.union(write)]

    static func words(_ scope: String) -> [String] { scope.split(separator: " ").map(String.init) }

    static func granted(by ceiling: String) -> Set<String> {
        var granted = Set<String>()
        for word in words(ceiling) {
            granted.insert(word)
            if word == "read_events" { granted.insert("read_free_busy") }
            granted.formUnion(shorthands[word] ?? [])
        }
        return granted
    }

    /// Whether every requested word is granted, a shorthand counting as the words it stands for.
    static func isWithin(_ scope: String, ceiling: String) -> Bool {
        let granted = granted(by: ceiling)
        return words(scope).allSatisfy { word in
            granted.contains(word) || (shorthands[word].map { $0.isSubset(of: granted) } ?? false)
        }
    }
}
