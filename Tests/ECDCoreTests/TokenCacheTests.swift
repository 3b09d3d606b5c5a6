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
}
