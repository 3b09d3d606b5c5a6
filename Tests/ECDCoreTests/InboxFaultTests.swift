import ECDCore
import ECDSimulator
import Foundation
import Testing

@Suite("Code exchange and request sending against injected faults", .serialized)
struct InboxFaultTests {
    func run(_ driver: StorageDriver, _ fault: SimulatorFault, on endpoint: SimulatorEndpoint, times: Int) async throws -> (Harness, Account) {
        let harness = try Harness(driver: driver)
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        harness.simulator.control.fail(endpoint, with: fault, times: times)
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "f@example.com", scope: "read_events")])
        let account = try await harness.waitForStatus("f@example.com", .active, timeout: .seconds(20))
        return (harness, account)
    }

    /// Cronofy fails the exchange for longer than the client retries: the inbox row is retried
    /// after a back-off (the code was not spent) and the account ends active.
    @Test(arguments: StorageDriver.allCases) func exchangeFailingForAWhile(driver: StorageDriver) async throws {
        let (harness, account) = try await run(driver, .serverError, on: .token, times: 3)
        #expect(account.status == .active)
        let exchanges = harness.simulator.control.calls(.token).filter { $0.body.contains("authorization_code") }
        #expect(exchanges.filter { $0.status == 500 }.count == 3)
        #expect(try await harness.allEvents().filter { $0.type == .accountRequested }.count == 1)
        await harness.stop()
    }

    /// Cronofy answers slower than the client waits: whether or not it spent the code, the account
    /// ends active (by a retry, or by the recovery re-request when the retry gets invalid_grant).
    @Test(arguments: StorageDriver.allCases) func exchangeSlowerThanTheTimeout(driver: StorageDriver) async throws {
        let (harness, account) = try await run(driver, .slow(.seconds(4)), on: .token, times: 2)
        #expect(account.status == .active)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func rateLimitedRequests(driver: StorageDriver) async throws {
        let (harness, account) = try await run(driver, .rateLimited(retryAfterSeconds: 0), on: .authorizations, times: 3)
        #expect(account.status == .active)
        #expect(harness.simulator.control.calls(.authorizations).filter { $0.status == 429 }.count == 3)
        await harness.stop()
    }
}
