import ECDCrypto

/// How a node names an account in a grant notification: the hex SHA-256 of its email key, the
/// same digest PostgreSQL's trigger computes (`CoreGrantNotifications`), so the email never
/// crosses the wire in clear.
enum GrantDigest {
    static func of(_ emailKey: String) -> String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256Digest.hash(Array(emailKey.utf8)) {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Coherence with the other nodes of a cluster (issue 16): another node's commit changed a grant,
/// and this cache must not serve the old token. Unlike a local change, the account may not be in
/// the cache and its email is not known here, so each remote change also refuses every ticket
/// taken before it: a read of this node that straddled the other node's commit cannot cache what
/// it read (it is served once, as it would have been a moment earlier, and read again next time).
extension TokenCache {
    /// One account's grant changed elsewhere; `digest` is its `GrantDigest`.
    func invalidate(digest: String) {
        state.withLock { state in
            state.epoch &+= 1
            state.floor = state.epoch
            if let key = state.digests.removeValue(forKey: digest) { state.entries.removeValue(forKey: key) }
        }
    }

    /// Anything may have changed (notifications were missed while not listening): drop every
    /// token and refuse every read begun before.
    func invalidateAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.digests.removeAll()
            state.epoch &+= 1
            state.floor = state.epoch
        }
    }

    /// Records `key`'s digest; rebuilt from the entries when stale ones (evicted keys) pile up,
    /// so the index stays within twice the cache.
    static func index(_ state: inout State, _ key: String) {
        if state.digests.count >= 2 * max(state.entries.count, 1024) {
            state.digests = Dictionary(uniqueKeysWithValues: state.entries.keys.map { (GrantDigest.of($0), $0) })
        }
        state.digests[GrantDigest.of(key)] = key
    }
}
