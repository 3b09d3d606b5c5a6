import ECDSync
import ECDTestSupport
import Foundation
import Testing

@testable import ECDSimulator

@Suite("Callback delivery retries")
struct CallbackRetryTests {
    @Test func retriesWhileTheReceiverIsDownOrFailingThenDelivers() async throws {
        let sim = SimulatorHarness()
        sim.transport.answer([nil, 503, nil])
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let callback = try await sim.authorizeAccount("jane@example.com", serviceToken: token)
        #expect(callback.attempts.map(\.status) == [nil, 503, nil, 200])
        #expect(callback.delivered && callback.finished)
        let bodies = Set(sim.transport.posts.map(\.body))
        #expect(bodies.count == 1)  // every attempt sends the same body (and code)
    }

    @Test func givesUpAfterMaxAttempts() async throws {
        let sim = SimulatorHarness { $0.callbackMaxAttempts = 3 }
        sim.transport.answer([500, 500, 500, 500])
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let callback = try await sim.authorizeAccount("jane@example.com", serviceToken: token)
        #expect(callback.attempts.map(\.status) == [500, 500, 500])
        #expect(!callback.delivered && callback.finished)
        #expect(sim.transport.posts.count == 3)
    }

    @Test func backoffDoublesUpToTheCap() {
        var configuration = SimulatorConfiguration()
        configuration.callbackRetryBaseDelay = .milliseconds(100)
        configuration.callbackMaxRetryDelay = .milliseconds(500)
        let policy = CallbackDispatcher.Policy(configuration: configuration)
        #expect((1...5).map { policy.retryDelay(afterAttempt: $0) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500),
        ])
    }

    /// A delivery an hour away: shutdown must not wait for it. The bound, a minute, is no guess
    /// at the machine's speed but a sixtieth of the delay; a shutdown that waited fails there
    /// (the waiting task is left behind) instead of holding the run for an hour.
    @Test func shutdownStopsPendingDeliveries() async throws {
        let sim = SimulatorHarness { $0.callbackDelay = .seconds(3600) }
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let response = await sim.postJSON("/v1/service_account_authorizations",
            #"{"email":"a@example.com","callback_url":"https://ecd.example.org/cb","scope":"read_events"}"#, bearer: token)
        #expect(response.status.code == 202)
        let stopped = Locked(false)
        let dispatcher = sim.components.dispatcher
        Task {
            await dispatcher.shutdown()
            stopped.withLock { $0 = true }
        }
        #expect(await eventually(timeout: .seconds(60)) { stopped.withLock { $0 } }, "shutdown waited for the delivery")
        #expect(sim.transport.posts.isEmpty)
    }
}
