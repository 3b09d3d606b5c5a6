import ECDCrypto
import ECDHTTP
import ECDSimulator
import Foundation
import Logging

/// What the demo runs against: a Cronofy simulator and a daemon on free loopback ports, with a
/// temporary database and freshly generated keys. Nothing outside the temporary folder is touched,
/// and `stop()` removes it.
struct DemoEnvironment: Sendable {
    let simulator: CronofySimulator
    let application: Application
    let directory: URL
    let apiKey: String
    let publicBase: URL
    let internalBase: URL

    static let refusedEmail = "boardroom@example.com"

    static func loopbackURL(port: Int) -> URL { URL(string: "http://127.0.0.1:\(port)")! }

    static func start(logger: Logger) async throws -> DemoEnvironment {
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.listen = .tcp(host: "127.0.0.1", port: 0)
        simulatorConfiguration.refusedEmails = [refusedEmail]
        simulatorConfiguration.callbackDelay = .milliseconds(10)
        let simulator = CronofySimulator(configuration: simulatorConfiguration)
        try simulator.start()

        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ecd-demo-\(UUID().uuidString.prefix(8))", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let apiKey = try SecureRandom.token()
            let encryptionKey = try SecureRandom.bytes(32)
            // Port 0: the public port is known once bound, and base_url is made from it.
            let configuration = AppConfiguration(
                cronofy: CronofySettings(clientID: simulatorConfiguration.clientID,
                                         clientSecret: simulatorConfiguration.clientSecret,
                                         apiURL: simulator.baseURL, appURL: simulator.baseURL),
                publicListener: PublicListenerSettings(listen: .tcp(host: "127.0.0.1", port: 0), baseURL: nil),
                internalListener: InternalListenerSettings(listen: .tcp(host: "127.0.0.1", port: 0),
                                                           apiKeys: APIKeyStore(keys: [apiKey])),
                storage: StorageSettings(path: directory.appendingPathComponent("ecd.sqlite").path,
                                         encryptionKeys: [EncryptionKeySetting(id: "demo", bytes: encryptionKey)]))
            let application = try buildApplication(configuration: configuration, logger: logger, tuneCore: { _ in },
                                                   baseURLForPort: { loopbackURL(port: $0) })
            do {
                try await application.start()
            } catch {
                await application.shutdown()
                throw error
            }
            return DemoEnvironment(simulator: simulator, application: application, directory: directory, apiKey: apiKey,
                                   publicBase: Self.loopbackURL(port: application.publicPort),
                                   internalBase: Self.loopbackURL(port: application.internalPort))
        } catch {
            await simulator.shutdown()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    func stop() async {
        await application.shutdown(deadline: .seconds(2))
        await simulator.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }
}
