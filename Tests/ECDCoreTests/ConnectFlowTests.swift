import ECDCore
import ECDSimulator
import Foundation
import Testing

@Suite("Connecting a service account", .serialized)
struct ConnectFlowTests {
    @Test(arguments: StorageDriver.allCases) func connectsAndReportsTheServiceAccount(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        let account = try await harness.connectServiceAccount(label: "Acme")
        #expect(account.id.hasPrefix("ser_"))
        #expect(account.domain == "example.com")
        #expect(account.provider == "google")
        #expect(account.email == "service-account@example.com")
        #expect(account.label == "Acme")
        #expect(account.status == .active)
        #expect(account.delegatedScope == harness.configuration.delegatedScope)
        #expect(try await harness.core.serviceAccounts().map(\.id) == [account.id])
        #expect(try await harness.core.serviceAccount(id: account.id) == account)
        let events = try await harness.allEvents()
        #expect(events.map(\.type) == [.serviceAccountConnected])
        #expect(events.first?.serviceAccountID == account.id)
        // The redirect_uri the code was exchanged with is the public base + /oauth/callback.
        let exchange = try #require(harness.simulator.control.calls(.token).last)
        #expect(exchange.body.contains("oauth%2Fcallback") || exchange.body.contains("oauth\\/callback") || exchange.body.contains("oauth/callback"))
        let token = try await harness.core.serviceAccountToken(id: account.id, minValidity: .seconds(60))
        #expect(token.sub == account.id)
        #expect(token.accountID == nil)
        let resources = try await harness.core.resources(serviceAccountID: account.id)
        #expect(resources.contains { $0.email.hasSuffix("@example.com") })
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func twoServiceAccountsSideBySide(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        let first = try await harness.connectServiceAccount()
        harness.simulator.control.setNextServiceAccount(ServiceAccountIdentity(email: "sa@other.org", domain: "other.org", provider: "office365"))
        let second = try await harness.connectServiceAccount()
        #expect(first.id != second.id)
        #expect(second.domain == "other.org")
        #expect(try await harness.core.serviceAccounts().count == 2)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func linkIsSingleUse(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        let link = try await harness.core.createConnectLink(label: nil, scope: nil, delegatedScope: nil)
        #expect(link.url.hasPrefix(harness.baseURL.absoluteString + "/connect/"))
        #expect(abs(link.expiresAt.timeIntervalSinceNow - 1800) < 5)
        let token = String(link.url.split(separator: "/").last!)
        // Any number of looks (link previews, mail scanners) leave the link usable.
        for _ in 0..<3 {
            let preview = try await harness.core.previewConnectLink(link: token)
            #expect(abs(preview.expiresAt.timeIntervalSince(link.expiresAt)) < 0.01)  // stored to the millisecond
        }
        let redirect = try await harness.core.beginConnect(link: token)
        let query = try #require(URLComponents(url: redirect.authorizeURL, resolvingAgainstBaseURL: false)?.queryItems)
        func value(_ name: String) -> String? { query.first { $0.name == name }?.value }
        #expect(value("response_type") == "code")
        #expect(value("redirect_uri") == harness.baseURL.absoluteString + "/oauth/callback")
        #expect(value("scope") == harness.configuration.serviceAccountScope)
        #expect(value("delegated_scope") == harness.configuration.delegatedScope)
        #expect(value("state") != nil && value("state") != redirect.stateCookieValue)
        await #expect(throws: CoreError.linkUnusable) { try await harness.core.beginConnect(link: token) }
        await #expect(throws: CoreError.linkUnusable) { try await harness.core.previewConnectLink(link: token) }
        await #expect(throws: CoreError.linkUnusable) { try await harness.core.beginConnect(link: "unknown") }
        await #expect(throws: CoreError.linkUnusable) { try await harness.core.previewConnectLink(link: "unknown") }
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func expiredLinkIsUnusable(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver) { $0.connectLinkLifetime = .milliseconds(50) }
        let link = try await harness.core.createConnectLink(label: nil, scope: nil, delegatedScope: nil)
        try await Task.sleep(for: .milliseconds(100))
        let token = String(link.url.split(separator: "/").last!)
        await #expect(throws: CoreError.linkUnusable) { try await harness.core.previewConnectLink(link: token) }
        await #expect(throws: CoreError.linkUnusable) { try await harness.core.beginConnect(link: token) }
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func stateMustMatchCookieAndIsSingleUse(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        let (code, state, cookie) = try await harness.authorizeAtSimulator()
        await #expect(throws: CoreError.self) {
            try await harness.core.completeConnect(code: code, state: state, error: nil, cookieState: "another-browser")
        }
        await #expect(throws: CoreError.self) {
            try await harness.core.completeConnect(code: code, state: state, error: nil, cookieState: nil)
        }
        await #expect(throws: CoreError.self) {
            try await harness.core.completeConnect(code: code, state: "forged", error: nil, cookieState: cookie)
        }
        #expect(try await harness.core.serviceAccounts().isEmpty)
        _ = try await harness.core.completeConnect(code: code, state: state, error: nil, cookieState: cookie)
        // Replaying the same redirect: the state is spent.
        do {
            _ = try await harness.core.completeConnect(code: code, state: state, error: nil, cookieState: cookie)
            Issue.record("a replayed state was accepted")
        } catch let error as CoreError {
            guard case .badState = error else { Issue.record("unexpected \(error)"); return }
        }
        // Refusals before the state and cookie matched are anybody's requests: no event for them
        // (they are counted in ecd_oauth_callbacks_rejected_total instead).
        #expect(try await harness.allEvents().map(\.type) == [.serviceAccountConnected])
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func cronofyErrorAndFailedExchangeStoreNothingButTheEvent(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        var (code, state, cookie) = try await harness.authorizeAtSimulator()
        do {
            _ = try await harness.core.completeConnect(code: nil, state: state, error: "access_denied", cookieState: cookie)
            Issue.record("access_denied was accepted")
        } catch let error as CoreError {
            #expect(error == .connectFailed("Cronofy reported access_denied"))
        }
        (code, state, cookie) = try await harness.authorizeAtSimulator()
        harness.simulator.control.fail(.token, with: .serverError, times: 5)
        await #expect(throws: CoreError.self) {
            try await harness.core.completeConnect(code: code, state: state, error: nil, cookieState: cookie)
        }
        harness.simulator.control.clearFaults()
        (_, state, cookie) = try await harness.authorizeAtSimulator()
        await #expect(throws: CoreError.self) {
            try await harness.core.completeConnect(code: "used-or-invented-code", state: state, error: nil, cookieState: cookie)
        }
        #expect(try await harness.core.serviceAccounts().isEmpty)
        let events = try await harness.allEvents()
        #expect(events.map(\.type) == [.serviceAccountConnectFailed, .serviceAccountConnectFailed, .serviceAccountConnectFailed])
        #expect(events[0].data["error"] == "access_denied")
        #expect(events[2].data["error"] == "invalid_grant")
        await harness.stop()
    }
}
