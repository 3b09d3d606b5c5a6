import ECDSimulator
import Foundation
import Testing
@testable import ECDApp

/// A stop that tells the truth: internal callers are told to come back during the drain, and
/// what the deadline cuts is logged with its count and routes.
@Suite struct ShutdownTests {
    @Test func requestsCutAtTheDrainDeadlineAreLoggedWithTheirRoutes() async throws {
        let daemon = try await TestDaemon.start()
        // A connect completion held up at Cronofy far past the drain deadline.
        daemon.simulator.control.fail(.token, with: .slow(.seconds(5)), times: 1)
        let (authorize, cookie, _) = try await daemon.openLink(try await daemon.connectLinkPath())
        let callback = try await daemon.approve(authorize)
        async let cutShort = try? daemon.publicRequest("GET", callback, headers: [("Cookie", cookie)])
        try await LifecycleTests.waitUntilTaken(daemon.simulator.control)

        await daemon.application.shutdown(deadline: .milliseconds(300))
        _ = await cutShort
        let warning = try #require(daemon.logs.entries.first { $0.message == "requests cut at the drain deadline" })
        #expect(warning.level == .warning)
        #expect(warning.metadata["listener"] == "public")
        #expect(warning.metadata["count"] == "1")
        // The route, never the query (code and state).
        #expect(warning.metadata["requests"] == "[\"GET /oauth/callback\"]" || warning.metadata["requests"] == "[GET /oauth/callback]")
        await daemon.stop()
    }

    @Test func serverDrainSecondsIsValidated() throws {
        for (value, accepted) in [("30", true), ("1", true), ("0", false), ("601", false), ("\"ten\"", false)] {
            let outcome = Result { try AppConfiguration.load(
                configPath: nil, environment: ["ECD_SERVER_DRAIN_SECONDS": value], mode: .database, defaultConfigPath: "/nonexistent") }
            switch outcome {
            case .success(let configuration):
                #expect(accepted, "\(value) was accepted")
                #expect(configuration.server.drainSeconds == Int(value))
            case .failure(let error):
                #expect(!accepted, "\(value) refused: \(error)")
                // Set in the environment, so named by its variable.
                #expect("\(error)".hasPrefix("ECD_SERVER_DRAIN_SECONDS: "))
            }
        }
        let defaults = try AppConfiguration.load(configPath: nil, environment: [:], mode: .database, defaultConfigPath: "/nonexistent")
        #expect(defaults.server.drainSeconds == 30)
    }
}
