import ECDCrypto
import ECDSync
import FoundationEssentials

/// Why a keyring was not taken: the daemon keeps the one it has.
public enum KeyringRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Key ids the database still seals secrets with (and how many) that the keyring lacks.
    case lacksKeysInUse([String: Int])
    /// A rewrap is re-sealing with the current primary key; swapping keys under it could leave
    /// rows under a key the new keyring lacks.
    case rewrapRunning
    case database(String)

    public var description: String {
        switch self {
        case .lacksKeysInUse(let missing):
            let list = missing.keys.sorted().map { "\($0) (\(missing[$0] ?? 0) secret\(missing[$0] == 1 ? "" : "s"))" }
            return "the keyring lacks key id\(missing.count == 1 ? "" : "s") \(list.joined(separator: ", ")) that the database "
                + "still uses: keep \(missing.count == 1 ? "it" : "them") until `ecd keys rewrap` reports no secret under \(missing.count == 1 ? "it" : "them")"
        case .rewrapRunning:
            return "a rewrap is running; reload the keyring once it has finished"
        case .database(let message):
            return "the database could not be read: \(message)"
        }
    }
}

/// A rewrap was asked for while one runs.
public struct RewrapAlreadyRunning: Error, Sendable, CustomStringConvertible {
    public var description: String { "a rewrap is already running" }
}

/// The live keyring: replaced on SIGHUP, refused when it lacks a key id that still seals a
/// secret (counted by `SecretKeyCounts`, so the check reads a dozen rows, not the tables); and the
/// rewrap the daemon runs for `ecd keys rewrap`, so secrets move while the daemon serves them.
extension EnterpriseConnect {
    /// The keyring in use now.
    public var keyring: Keyring { keyrings.withLock { $0.keyring } }

    /// Key ids that seal at least one stored secret, with their counts.
    public func keyIDsInUse() async throws -> [String: Int] {
        try await storage.read { try $0.keyIDsInUse() }
    }

    /// Key ids in use that `keyring` cannot open (empty when it can open every secret).
    public func keysMissing(from keyring: Keyring) async throws -> [String: Int] {
        let known = Set(keyring.keyIDs)
        return try await keyIDsInUse().filter { !known.contains($0.key) }
    }

    /// Takes `new` as the keyring if it can open every stored secret; otherwise keeps the current
    /// one and throws. The check and the swap happen inside a write transaction, so no write
    /// commits between them.
    public func replaceKeyring(_ new: Keyring) async throws(KeyringRefusal) {
        do {
            try await storage.transaction { [keyrings] transaction in
                let known = Set(new.keyIDs)
                let missing = try transaction.keyIDsInUse().filter { !known.contains($0.key) }
                guard missing.isEmpty else { throw KeyringRefusal.lacksKeysInUse(missing) }
                try keyrings.withLock { state in
                    guard !state.rewrapping else { throw KeyringRefusal.rewrapRunning }
                    state.keyring = new
                }
            }
        } catch let refusal as KeyringRefusal {
            throw refusal
        } catch {
            throw .database("\(error)")
        }
    }

    /// `/readyz`'s keyring line: secrets under key ids the keyring lacks (written by something
    /// that bypassed this daemon, or restored from elsewhere) fail every read of their row.
    func keyringProblem() async -> String? {
        // A database that cannot be read is reported by readiness's own database check.
        guard let missing = try? await keysMissing(from: keyring), !missing.isEmpty else { return nil }
        let list = missing.keys.sorted().map { "\(missing[$0] ?? 0) under key id \($0)" }
        return "secrets the keyring cannot open: \(list.joined(separator: ", ")); add the key to storage.encryption_keys and send SIGHUP"
    }

    /// Re-seals every secret with the primary key, on a thread of its own (the rewrap blocks,
    /// pausing between batches); one at a time, and no keyring swap meanwhile.
    public func rewrap() async throws -> RewrapReport {
        let ring = try keyrings.withLock { state throws -> Keyring in
            guard !state.rewrapping else { throw RewrapAlreadyRunning() }
            state.rewrapping = true
            return state.keyring
        }
        defer { keyrings.withLock { $0.rewrapping = false } }
        return try await storage.rewrap(keyring: ring)
    }
}

/// The keyring and whether a rewrap runs, behind one lock.
struct KeyringState: Sendable {
    var keyring: Keyring
    var rewrapping = false
}
