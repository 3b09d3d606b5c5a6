import ECDSync
import FoundationEssentials

/// Decrypted, fresh access tokens of accounts, keyed by lower-cased email. The token route's hot
/// path is one lock and one dictionary lookup here, with no I/O and no task hop. Reads also mark
/// the entry as used; a periodic flush turns the marks into one batched `last_used_at` update
/// instead of a write per read. An entry whose use was flushed less than `remarkAfter` ago is
/// not marked again: `last_used_at` only says whether an account was read within the last hour
/// (refresh ahead), and rewriting every hot account's row on every flush cost the token route a
/// share of its CPU that grew with the number of accounts (100,000 rows every 15 s).
///
/// Every change of an account's tokens (revoke, new request, refresh, authorization, lost
/// authorization) bumps the account's generation after its commit. A caller that read a token
/// from the database holds a ticket taken before that read, and the token is cached only if the
/// account's generation has not moved past the ticket: a read that straddles a revoke cannot put
/// the revoked token back after the revoke dropped it.
final class TokenCache: Sendable {
    struct Entry {
        var token: AccessToken
        var used: Bool
        /// When a flush last took this entry's use (seconds since the reference date; -inf: never).
        var flushedAt: Double = -.infinity
    }

    struct State {
        var entries: [String: Entry] = [:]
        var usedKeys: [String] = []
        /// Counts every change; a ticket is its value when a read began.
        var epoch: UInt64 = 0
        /// The epoch of each account's last change (its generation).
        var changedAt: [String: UInt64] = [:]
        /// `changedAt` was emptied at this epoch (to stay bounded): older tickets are refused.
        var floor: UInt64 = 0
        /// Key by `GrantDigest` of the keys cached since the index was last rebuilt, kept only
        /// when other processes share the database (`keepsDigests`): their notifications name
        /// an account by digest, never by email.
        var digests: [String: String] = [:]
        /// The scopes of the cached tokens (a handful in practice, at most `scopeLimit`), so that
        /// entries share one copy of each instead of a heap string apiece.
        var scopes: Set<String> = []
    }

    /// Measured with 100,000 entries: about 270 bytes of table and marks per entry plus about 500
    /// of strings (token, scope, account id, sub, email), of which the shared scope and the sub
    /// that repeats the account id were about 170.
    private static let scopeLimit = 256

    let state = Locked(State())
    private let capacity: Int
    /// How long after a flush took an entry's use a read marks it again.
    let remarkAfter: TimeInterval
    /// Whether grant changes of other nodes can arrive by digest (`invalidate(digest:)`).
    let keepsDigests: Bool

    init(capacity: Int, remarkAfter: TimeInterval = 0, keepsDigests: Bool = false) {
        self.capacity = max(1, capacity)
        self.remarkAfter = max(0, remarkAfter)
        self.keepsDigests = keepsDigests
    }

    /// The cached token when it is valid for at least `minValidity` seconds at `now`.
    func lookup(_ key: String, minValidity: TimeInterval, now: Date) -> AccessToken? {
        state.withLock { state -> AccessToken? in
            guard let index = state.entries.index(forKey: key) else { return nil }
            let (token, marked) = Self.use(&state.entries.values[index], minValidity: minValidity, now: now,
                                           remarkAfter: remarkAfter)
            if marked { state.usedKeys.append(key) }
            return token
        }
    }

    /// The entry's token when valid for `minValidity`, marked as used when due. Reached through
    /// `inout` so the entry is read where it lies in the table: reading it through the
    /// dictionary's subscripts copies the whole entry (each of its strings retained and released
    /// again), which was the token route's largest source of retains.
    private static func use(_ entry: inout Entry, minValidity: TimeInterval, now: Date,
                            remarkAfter: TimeInterval) -> (token: AccessToken?, marked: Bool) {
        guard entry.token.expiresAt.timeIntervalSince(now) >= minValidity else { return (nil, false) }
        var marked = false
        if !entry.used, now.timeIntervalSinceReferenceDate - entry.flushedAt >= remarkAfter {
            entry.used = true
            marked = true
        }
        return (entry.token, marked)
    }

    /// Taken before reading a token from the database, handed back to `store`.
    func ticket() -> UInt64 { state.withLock { $0.epoch } }

    /// Caches a token read from the database with `ticket`, unless the account's tokens changed
    /// since; returns whether it did.
    @discardableResult
    func store(_ key: String, _ token: AccessToken, ticket: UInt64, markUsed: Bool) -> Bool {
        state.withLock { state in
            guard Self.current(state, key, ticket) else { return false }
            insert(&state, key, token, markUsed: markUsed)
            return true
        }
    }

    /// A new token written (refresh, authorization) with `ticket` taken before the write: it
    /// replaces the cached one and moves the generation on (so a read of the old token still in
    /// flight cannot put it back), unless something else changed the account since, such as a
    /// revoke, which then wins.
    @discardableResult
    func replace(_ key: String, _ token: AccessToken, ticket: UInt64) -> Bool {
        state.withLock { state in
            guard Self.current(state, key, ticket) else {
                state.entries.removeValue(forKey: key)
                return false
            }
            bump(&state, key)
            insert(&state, key, token, markUsed: false)
            return true
        }
    }

    /// The account's tokens changed (revoked, requested again, authorization lost): drops the
    /// cached token and refuses it from reads that began before. Call after the change committed.
    func invalidate(_ key: String) {
        state.withLock { state in
            state.entries.removeValue(forKey: key)
            bump(&state, key)
        }
    }

    private static func current(_ state: State, _ key: String, _ ticket: UInt64) -> Bool {
        ticket >= state.floor && (state.changedAt[key] ?? 0) <= ticket
    }

    private func bump(_ state: inout State, _ key: String) {
        state.epoch &+= 1
        state.changedAt[key] = state.epoch
        // Bounded like the entries: forgetting every generation at once is safe, because tickets
        // older than the forgetting are refused from then on (those reads just go uncached).
        if state.changedAt.count > capacity {
            state.changedAt.removeAll(keepingCapacity: true)
            state.floor = state.epoch
        }
    }

    private func insert(_ state: inout State, _ key: String, _ token: AccessToken, markUsed: Bool) {
        if state.entries[key] == nil, state.entries.count >= capacity { Self.evict(&state) }
        let token = Self.sharingStorage(token, scopes: &state.scopes)
        let old = state.entries[key]
        if keepsDigests, old == nil { Self.index(&state, key) }
        let wasUsed = old?.used ?? false
        state.entries[key] = Entry(token: token, used: wasUsed || markUsed, flushedAt: old?.flushedAt ?? -.infinity)
        if markUsed, !wasUsed { state.usedKeys.append(key) }
    }

    /// `token` with its scope replaced by an equal one already cached, and its `sub` by its
    /// account id when they are equal (Cronofy's sub is the account id): the same values, one copy.
    private static func sharingStorage(_ token: AccessToken, scopes: inout Set<String>) -> AccessToken {
        var token = token
        if let index = scopes.firstIndex(of: token.scope) {
            token.scope = scopes[index]
        } else if scopes.count < scopeLimit {
            scopes.insert(token.scope)
        }
        if let accountID = token.accountID, token.sub == accountID { token.sub = accountID }
        return token
    }

    func removeAll() {
        state.withLock { $0.entries.removeAll() }
    }

    /// Keys read since the last call; their marks are cleared so that a read `remarkAfter` after
    /// `now` marks them again.
    func takeUsedKeys(now: Date = Date()) -> [String] {
        let flushed = now.timeIntervalSinceReferenceDate
        return state.withLock { state in
            let keys = state.usedKeys
            state.usedKeys.removeAll(keepingCapacity: true)
            for key in keys {
                state.entries[key]?.used = false
                state.entries[key]?.flushedAt = flushed
            }
            return keys
        }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Drops expired entries; if none were, a random quarter of the cache (a miss only costs one
    /// database read and one decryption). Random, not the first keys in iteration order: those
    /// are the same end of the hash table every time, and emptying it over and over left long
    /// probe chains that made every lookup slow (measured 15.6 µs against 0.5 µs).
    private static func evict(_ state: inout State) {
        let now = Date()
        let before = state.entries.count
        state.entries = state.entries.filter { $0.value.token.expiresAt > now }
        if state.entries.count < before { return }
        let drop = max(1, before / 4)
        var victims = Array(state.entries.keys)
        victims.shuffle()
        for key in victims.prefix(drop) { state.entries.removeValue(forKey: key) }
    }
}
