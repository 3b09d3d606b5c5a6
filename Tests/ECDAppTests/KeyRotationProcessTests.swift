import ECDCrypto
import ECDSimulator
import ECDSQLite
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp
@testable import ECDCore
#if canImport(Glibc)
import Glibc
#endif

/// Issue 12 item 4, key rotation with no window of failure, with a real `ecd serve` whose keyring
/// is a file: SIGHUP reloads it, a keyring lacking a key id in use is refused (on SIGHUP, keeping
/// the old one, and at start), `ecd keys rewrap` beside the daemon asks the daemon to do it while
/// refreshes and callbacks keep succeeding, and `/readyz` is 503 while a secret is under a key
/// the daemon lacks.
@Suite("encryption key rotation through SIGHUP", .serialized)
struct KeyRotationProcessTests {
    static let k1 = Keyring.Key(id: "k1", bytes: Array(repeating: 1, count: 32))
    static let k2 = Keyring.Key(id: "k2", bytes: Array(repeating: 2, count: 32))
    static let k3 = Keyring.Key(id: "k3", bytes: Array(repeating: 3, count: 32))
    /// Enough rows that the rewrap takes seconds (batches of 250 with pauses between).
    static let seeded = 10_000

    static func writeKeyring(_ path: String, _ keys: [Keyring.Key]) throws {
        try Data(RewrapUnderLoadTests.keyringJSON(keys).utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Sends SIGHUP and waits for the `count`-th log line containing `message`.
    static func hangUp(_ daemon: ServeProcess, awaiting message: String, count: Int) async throws {
        kill(daemon.process.pid, SIGHUP)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let seen = daemon.process.standardError().components(separatedBy: "\n").filter { $0.contains(message) }.count
            if seen >= count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RawHTTP.Failure(description: "no \"\(message)\" (#\(count)) after SIGHUP: \(daemon.process.standardError().suffix(2000))")
    }

    @Test("SIGHUP rotation: refused without an in-use key, rewrap through the daemon under load, readyz follows the keyring")
    func rotateWhileServing() async throws {
        let simulator = try CronofySimulator.startedForTests()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let database = folder.url.appendingPathComponent("db/ecd.sqlite").path
        let keysFile = folder.url.appendingPathComponent("encryption_keys.json").path
        try Self.writeKeyring(keysFile, [Self.k1])
        let keyringFromFile = ["ECD_STORAGE_ENCRYPTION_KEYS_FILE": keysFile]
        let inline = ["ECD_STORAGE_ENCRYPTION_KEYS"]

        var setup = DaemonEnvironment.make(folder, extra: ["ECD_STORAGE_PATH": database].merging(keyringFromFile) { _, new in new })
        setup["ECD_STORAGE_ENCRYPTION_KEYS"] = nil
        #expect(try await ECDBinary.run(["migrate"], environment: setup).code == 0)
        try await onOwnThread { try RewrapUnderLoadTests.seed(database, count: Self.seeded, key: Self.k1) }

        let daemon = try await ServeProcess.start(folder: folder, database: database, simulator: simulator,
                                                  extra: keyringFromFile, without: inline)
        try await daemon.connectServiceAccount()
        let real = ["r1@example.com", "r2@example.com"]
        #expect(try await daemon.requestAndSettle(real).values.allSatisfy { $0 == "active" })

        // 1. A keyring without k1, which seals every secret: refused, the daemon keeps k1.
        try Self.writeKeyring(keysFile, [Self.k2])
        try await Self.hangUp(daemon, awaiting: "encryption keyring not reloaded", count: 1)
        #expect(daemon.process.standardError().contains("lacks key id k1"))
        #expect(try await daemon.internalAPI("POST", "/v1/accounts/r1@example.com/refresh", json: nil).status == 200)
        #expect(try await daemon.internalAPI("GET", "/readyz", json: nil).status == 200)

        // 2. The new key first, the old one kept: taken.
        try Self.writeKeyring(keysFile, [Self.k2, Self.k1])
        try await Self.hangUp(daemon, awaiting: "encryption keyring reloaded", count: 1)

        // 3. `ecd keys rewrap` beside the daemon asks the daemon; meanwhile refreshes and new
        //    accounts (callbacks exchanged, tokens sealed) keep succeeding.
        var cli = setup
        cli["ECD_URL"] = "http://127.0.0.1:\(daemon.internalPort)"
        cli["ECD_API_KEY"] = ServeProcess.apiKey
        try Self.writeKeyring(keysFile, [Self.k2, Self.k1])
        let rewrap = try RunningECD(["keys", "rewrap"], environment: cli)
        var statuses: [Int: Int] = [:]
        var settled: [String: String] = [:]
        var round = 0
        while rewrap.isRunning || round == 0 {
            round += 1
            for email in real {
                let refreshed = try await daemon.internalAPI("POST", "/v1/accounts/\(email)/refresh", json: nil)
                statuses[refreshed.status, default: 0] += 1
            }
            let email = "new\(round)@example.com"
            settled.merge(try await daemon.requestAndSettle([email])) { _, new in new }
        }
        #expect(await rewrap.terminate(signal: SIGTERM) == 0, "\(rewrap.standardError())")
        #expect(round > 1, "the rewrap finished before any request went alongside it")
        #expect(statuses.keys.allSatisfy { $0 == 200 }, "refresh statuses during the rewrap: \(statuses)")
        #expect(settled.values.allSatisfy { $0 == "active" }, "\(settled)")
        #expect(rewrap.standardError().contains("is in use by ecd (pid \(daemon.process.pid)): asking it to rewrap"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(rewrap.standardOutput().utf8)) as? [String: Any])
        let byKey = try #require(report["secrets_by_key_id"] as? [String: Int])
        #expect(Array(byKey.keys) == ["k2"], "\(byKey)")
        #expect((report["rewrapped_from_key_ids"] as? [String: Int])?["k1"] ?? 0 >= 2 * Self.seeded)
        let problems = daemon.process.standardError().split(separator: "\n")
            .filter { $0.contains("\"level\":\"error\"") || $0.contains("\"status\":5") }
            .filter { !$0.contains("encryption keyring not reloaded") }   // step 1's refusal, expected
        #expect(problems.isEmpty, "\(problems.prefix(5))")

        // 4. k1 no longer seals anything: a keyring without it is taken now.
        try Self.writeKeyring(keysFile, [Self.k2])
        try await Self.hangUp(daemon, awaiting: "encryption keyring reloaded", count: 2)
        #expect(try await daemon.internalAPI("POST", "/v1/accounts/r2@example.com/refresh", json: nil).status == 200)

        // 5. Something writes behind the daemon's back with a key it lacks: /readyz says so…
        let foreign = SecretBox(keyring: try Keyring(keys: [Self.k3]))
        let handle = try Database(path: database)
        try await handle.asyncWrite { connection in
            try connection.execute("UPDATE accounts SET access_token = ? WHERE id = 1",
                                   [try foreign.seal("a", table: "accounts", row: "1", column: "access_token")])
        }
        handle.close()
        let unready = try await daemon.internalAPI("GET", "/readyz", json: nil)
        #expect(unready.status == 503)
        #expect(unready.text.contains("1 under key id k3"), "\(unready.text)")
        // …until the keyring has that key.
        try Self.writeKeyring(keysFile, [Self.k2, Self.k3])
        try await Self.hangUp(daemon, awaiting: "encryption keyring reloaded", count: 3)
        #expect(try await daemon.internalAPI("GET", "/readyz", json: nil).status == 200)
        #expect(await daemon.stop() == 0)

        // 6. At start, a keyring lacking k3 is refused outright.
        try Self.writeKeyring(keysFile, [Self.k2])
        var serve = setup
        serve["ECD_CRONOFY_API_URL"] = simulator.baseURL.absoluteString
        let refused = try await ECDBinary.run(["serve"], environment: serve, limit: .seconds(30))
        #expect(refused.code == 1)
        #expect(refused.stderr.contains("storage.encryption_keys: the keyring lacks key id k3 (1 secret)"), "\(refused.stderr)")
        await simulator.shutdown()
    }
}
