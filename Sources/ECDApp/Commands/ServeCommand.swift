import ArgumentParser
import Logging

/// `ecd serve`: validate the configuration, then run both listeners until SIGTERM/SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: the public and internal listeners and the background work.",
        discussion: """
            A bad configuration stops it before it listens, with one line per problem naming the key. \
            Under systemd socket activation (LISTEN_FDS, LISTEN_FDNAMES), sockets named public or \
            internal are served in place of binding public.listen or internal.listen. \
            SIGTERM or SIGINT drains in-flight requests and exits 0; SIGHUP rereads \
            internal.api_keys_file when the API keys come from a file, and the encryption keyring (kept \
            as it is when the new one lacks a key id the database still uses). A database another ecd \
            holds is refused at once.
            """)

    @OptionGroup var config: ConfigOptions

    func run() async throws {
        // First, before anything else reads the environment: the variables are unset whatever
        // they say, so that no process ecd starts takes the sockets for its own.
        let activation: SocketActivation
        do {
            activation = try SocketActivation.fromEnvironment()
        } catch {
            throw CommandFailure("\(error)")
        }
        let configuration = try config.loadForServing()
        // Lines are written by the sink's own thread, so no event loop waits on standard error
        // (a full pipe, a slow journal); what is queued is written before the process exits.
        let sink = LogSink.standardErrorInBackground()
        ECDLogging.bootstrap(configuration.log, sink: sink)
        defer { sink.flush() }
        ECDMetrics.bootstrap()
        let logger = Logger(label: "ecd")
        logger.notice("starting", metadata: [
            "version": .string(ECDVersion.current),
            "config": .string(configuration.sourceFile ?? "environment only"),
        ])
        if let ignored = activation.ignored {
            logger.warning("socket activation ignored", metadata: ["reason": .string(ignored)])
        } else if !activation.sockets.isEmpty {
            logger.info("socket activation", metadata: [
                "sockets": .string(activation.sockets.sorted { $0.value < $1.value }.map { "\($0.key)=fd \($0.value)" }.joined(separator: ", ")),
            ])
        }
        let application: Application
        do {
            application = try buildApplication(configuration: configuration, logger: logger, tuneCore: { _ in },
                                               inherited: activation)
        } catch let error as DatabaseLockError {
            // `database PATH is in use by ecd (pid N)` says all there is to say.
            logger.critical("cannot build the daemon", metadata: ["error": .string("\(error)")])
            throw CommandFailure("\(error)")
        } catch let error as ApplicationError {
            // Listeners are bound while building: `public.listen 127.0.0.1:8080: address in use`.
            logger.critical("cannot build the daemon", metadata: ["error": .string("\(error)")])
            throw CommandFailure("\(error)")
        } catch {
            logger.critical("cannot build the daemon", metadata: ["error": .string("\(error)")])
            throw CommandFailure("cannot start: \(error)")
        }
        do {
            try await application.run()
        } catch let error as ApplicationError {
            logger.critical("stopped by an error", metadata: ["error": .string("\(error)")])
            await application.shutdown()
            // `public.listen 127.0.0.1:8080: address in use` says all there is to say.
            throw CommandFailure("\(error)")
        } catch {
            logger.critical("stopped by an error", metadata: ["error": .string("\(error)")])
            await application.shutdown()
            throw CommandFailure("serve failed: \(error)")
        }
    }
}
