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
            // The public port is part of base_url, so it is chosen before the daemon is built;
            // a port taken by someone else in the meantime gets another try.
            var attempt = 0
            while true {
                attempt += 1
                let port = try LoopbackPort.pick()
                let publicBase = URL(string: "http://127.0.0.1:\(port)")!
                let configuration = AppConfiguration(
                    cronofy: CronofySettings(clientID: simulatorConfiguration.clientID,
                                             clientSecret: simulatorConfiguration.clientSecret,
                                             apiURL: simulator.baseURL, appURL: simulator.baseURL),
                    publicListener: PublicListenerSettings(listen: .tcp(host: "127.0.0.1", port: port), baseURL: publicBase),
                    internalListener: InternalListenerSettings(listen: .tcp(host: "127.0.0.1", port: 0),
                                                               apiKeys: APIKeyStore(keys: [apiKey])),
                    storage: StorageSettings(path: directory.appendingPathComponent("ecd.sqlite").path,
                                             encryptionKeys: [EncryptionKeySetting(id: "demo", bytes: encryptionKey)]))
                let application = try buildApplication(configuration: configuration, logger: logger)
                do {
                    try await application.start()
                } catch let error as HTTPServerError where attempt < 5 {
                    _ = error
                    await application.shutdown()
                    continue
                }
                let internalBase = URL(string: "http://127.0.0.1:\(application.internalPort)")!
                return DemoEnvironment(simulator: simulator, application: application, directory: directory,
                                       apiKey: apiKey, publicBase: publicBase, internalBase: internalBase)
            }
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
