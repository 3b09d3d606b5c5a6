import ECDHTTP
import Testing

@testable import ECDSimulator

@Suite("Simulator command-line configuration")
struct ConfigurationTests {
    @Test func flagsOverrideTheDefaults() throws {
        let configuration = try SimulatorConfiguration(arguments: [
            "--listen", "127.0.0.1:0", "--client-id", "cid", "--client-secret=sec", "--token-lifetime", "60",
            "--code-lifetime", "5", "--sign-callbacks", "--auto-approve", "--refuse", "A@x.test", "--refuse", "b@x.test",
            "--drop-callbacks", "c@x.test", "--domain", "x.test", "--provider", "office365",
            "--service-account-email", "svc@x.test", "--callback-delay", "250", "--fault", "token:500:2",
            "--fault", "any:429@4", "--fault", "userinfo:slow@1500:1",
        ])
        #expect(configuration.listen == .tcp(host: "127.0.0.1", port: 0))
        #expect(configuration.clientID == "cid" && configuration.clientSecret == "sec")
        #expect(configuration.tokenLifetime == .seconds(60) && configuration.codeLifetime == .seconds(5))
        #expect(configuration.signCallbacks && configuration.autoApprove)
        #expect(configuration.refusedEmails == ["a@x.test", "b@x.test"])
        #expect(configuration.droppedCallbackEmails == ["c@x.test"])
        #expect(configuration.serviceAccountDomain == "x.test" && configuration.serviceAccountProvider == "office365")
        #expect(configuration.serviceAccountEmail == "svc@x.test")
        #expect(configuration.callbackDelay == .milliseconds(250))
        #expect(configuration.faults == [
            SimulatorFaultRule(endpoint: .token, fault: .serverError, count: 2),
            SimulatorFaultRule(endpoint: .any, fault: .rateLimited(retryAfterSeconds: 4), count: 1),
            SimulatorFaultRule(endpoint: .userinfo, fault: .slow(.milliseconds(1500)), count: 1),
        ])
    }

    @Test func defaultsMatchTheAgreedAPI() throws {
        let configuration = try SimulatorConfiguration(arguments: [])
        #expect(configuration.listen == .tcp(host: "127.0.0.1", port: 9000))
        #expect(configuration.clientID == "sim_client_id" && configuration.clientSecret == "sim_client_secret")
        #expect(configuration.tokenLifetime == .seconds(1800) && configuration.codeLifetime == .seconds(300))
        #expect(!configuration.signCallbacks && configuration.faults.isEmpty)
    }

    @Test func badFlagsAreTypedErrorsThatNeverEchoTheSecret() {
        #expect(throws: SimulatorConfigurationError.unknownFlag("--nope")) { try SimulatorConfiguration(arguments: ["--nope"]) }
        #expect(throws: SimulatorConfigurationError.missingValue(flag: "--refuse")) { try SimulatorConfiguration(arguments: ["--refuse"]) }
        #expect(throws: SimulatorConfigurationError.self) { try SimulatorConfiguration(arguments: ["--token-lifetime", "0"]) }
        #expect(throws: SimulatorConfigurationError.self) { try SimulatorConfiguration(arguments: ["--sign-callbacks=yes"]) }
        #expect(throws: SimulatorConfigurationError.self) { try SimulatorConfiguration(arguments: ["--listen", "nohost"]) }
        #expect(throws: SimulatorConfigurationError.self) { try SimulatorConfiguration(arguments: ["--fault", "token:418"]) }
        #expect(throws: SimulatorConfigurationError.self) { try SimulatorConfiguration(arguments: ["--fault", "token:500:0"]) }
        let error = SimulatorConfigurationError.invalidValue(flag: "--client-secret", value: "s3cret", expected: "x")
        #expect(!error.description.contains("s3cret"))
    }

    @Test func descriptionRedactsTheClientSecret() throws {
        let configuration = try SimulatorConfiguration(arguments: ["--client-secret", "s3cret-value"])
        #expect(!configuration.description.contains("s3cret-value"))
        #expect(!String(describing: configuration).contains("s3cret-value"))
        #expect(configuration.description.contains("<redacted>"))
    }
}
