import Foundation
import Testing
@testable import ECDCore

@Suite("Token cache generations: a token read before a change is not cached after it")
struct TokenCacheTests {
    func token(_ value: String) -> AccessToken {
        AccessToken(accessToken: value, expiresAt: Date().addingTimeInterval(3600), scope: "read_events",
                    accountID: nil, sub: nil, apiURL: "http://127.0.0.1")
    }

    @Test func aReadThatStraddlesAnInvalidationIsRefused() {
        let cache = TokenCache(capacity: 10)
        let ticket = cache.ticket()
        cache.invalidate("a")                                    // the revoke commits meanwhile
        #expect(!cache.store("a", token("old"), ticket: ticket, markUsed: true))
        #expect(cache.lookup("a", minValidity: 0, now: Date()) == nil)
        // A read that began after the change caches normally; other accounts are unaffected.
        #expect(cache.store("a", token("new"), ticket: cache.ticket(), markUsed: true))
        #expect(cache.store("b", token("b"), ticket: ticket, markUsed: true))
    }

    @Test func aReplacementMovesTheGenerationAndLosesToALaterRevoke() {
        let cache = TokenCache(capacity: 10)
        let reader = cache.ticket()
        #expect(cache.replace("a", token("refreshed"), ticket: cache.ticket()))
        // The read of the pre-refresh token, still in flight, cannot put it back.
        #expect(!cache.store("a", token("stale"), ticket: reader, markUsed: false))
        #expect(cache.lookup("a", minValidity: 0, now: Date())?.accessToken == "refreshed")
        let refresher = cache.ticket()
        cache.invalidate("a")
        #expect(!cache.replace("a", token("late"), ticket: refresher))
        #expect(cache.lookup("a", minValidity: 0, now: Date()) == nil)
    }

    @Test func forgottenGenerationsRefuseOlderTickets() {
        let cache = TokenCache(capacity: 2)
        let old = cache.ticket()
        for key in ["a", "b", "c"] { cache.invalidate(key) }    // more than capacity: forgotten
        #expect(!cache.store("z", token("z"), ticket: old, markUsed: false))
        #expect(cache.store("z", token("z"), ticket: cache.ticket(), markUsed: false))
    }

    /// A read marks its entry for the `last_used_at` flush, unless a flush took its use less than
    /// `remarkAfter` ago: then the row already says "used recently", and is not rewritten.
    @Test func aFlushedUseIsNotMarkedAgainWithinRemarkAfter() {
        let cache = TokenCache(capacity: 10, remarkAfter: 300)
        let start = Date()
        #expect(cache.store("a", token("a"), ticket: cache.ticket(), markUsed: true))
        #expect(cache.store("b", token("b"), ticket: cache.ticket(), markUsed: false))
        _ = cache.lookup("b", minValidity: 0, now: start)
        #expect(Set(cache.takeUsedKeys(now: start)) == ["a", "b"])
        // Within 300 s of that flush: read, but not marked again.
        #expect(cache.lookup("a", minValidity: 0, now: start.addingTimeInterval(299))?.accessToken == "a")
        #expect(cache.takeUsedKeys(now: start.addingTimeInterval(299)).isEmpty)
        // A refresh keeps the entry's flush time: still not marked.
        #expect(cache.replace("a", token("a2"), ticket: cache.ticket()))
        _ = cache.lookup("a", minValidity: 0, now: start.addingTimeInterval(299))
        #expect(cache.takeUsedKeys(now: start.addingTimeInterval(299)).isEmpty)
        // 300 s after it: marked once, however often it is read.
        for _ in 0..<3 { _ = cache.lookup("a", minValidity: 0, now: start.addingTimeInterval(300)) }
        #expect(cache.takeUsedKeys(now: start.addingTimeInterval(300)) == ["a"])
    }

    /// Cached tokens share one copy of an equal scope, and a sub equal to the account id is that
    /// id's copy: the values are unchanged, the heap strings fewer (100,000 entries' worth).
    @Test func equalScopesAndSubsShareOneCopy() throws {
        func storage(_ text: String) -> UnsafeRawPointer? {
            var text = text
            return text.withUTF8 { UnsafeRawPointer($0.baseAddress) }
        }
        let scope = "read_account list_calendars read_events create_event delete_event"
        func token(_ n: Int) -> AccessToken {
            // Each value built afresh, as a database read makes them.
            let id = "acc_" + String(repeating: "0", count: 20) + "\(n)"
            return AccessToken(accessToken: "token-\(n)-" + String(repeating: "t", count: 24), expiresAt: Date().addingTimeInterval(3600),
                               scope: String(Array(scope)), accountID: id, sub: String(Array(id)), apiURL: "http://127.0.0.1")
        }
        let cache = TokenCache(capacity: 10)
        let first = token(1), second = token(2)
        #expect(storage(first.scope) != storage(second.scope) && storage(first.sub ?? "") != storage(first.accountID ?? "-"))
        #expect(cache.store("a", first, ticket: cache.ticket(), markUsed: false))
        #expect(cache.store("b", second, ticket: cache.ticket(), markUsed: false))
        let a = try #require(cache.lookup("a", minValidity: 0, now: Date()))
        let b = try #require(cache.lookup("b", minValidity: 0, now: Date()))
        #expect(a == first && b == second && b.scope == scope && b.sub == b.accountID)
        #expect(storage(a.scope) == storage(b.scope))
        #expect(storage(a.sub ?? "") == storage(a.accountID ?? "-"))
    }
}

/// The remote half of coherence (issue 16): another node's grant change arrives as a digest.
@Suite("Token cache: other nodes' grant changes")
struct TokenCacheRemoteTests {
    func token(_ value: String) -> AccessToken {
        AccessToken(accessToken: value, expiresAt: Date().addingTimeInterval(3600), scope: "read_events",
                    accountID: nil, sub: nil, apiURL: "http://127.0.0.1")
    }

    @Test func aDigestDropsItsAccountAndRefusesReadsInFlight() {
        let cache = TokenCache(capacity: 10, keepsDigests: true)
        #expect(cache.store("a", token("a1"), ticket: cache.ticket(), markUsed: false))
        #expect(cache.store("b", token("b1"), ticket: cache.ticket(), markUsed: false))
        let inFlight = cache.ticket()                       // a read of "c" began before the change
        cache.apply(.account(digest: GrantDigest.of("a")))
        #expect(cache.lookup("a", minValidity: 0, now: Date()) == nil)
        #expect(cache.lookup("b", minValidity: 0, now: Date())?.accessToken == "b1")
        #expect(!cache.store("c", token("c-old"), ticket: inFlight, markUsed: false))
        #expect(cache.store("c", token("c1"), ticket: cache.ticket(), markUsed: false))
        cache.apply(.anything)
        #expect(cache.count == 0)
    }
}
