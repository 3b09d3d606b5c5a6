import Foundation
import Logging

/// `ecd demo`: the whole Enterprise Connect story against a local Cronofy simulator, with no setup,
/// told step by step through the daemon's real HTTP interfaces, the way a newcomer would drive them.
public enum Demo {
    /// Runs the demo, printing each step to standard output. Throws when a step does not go as
    /// told (the message names the step); everything it started is stopped and removed either way.
    public static func run() async throws {
        try await run(output: { print($0) })
    }

    /// As `run()`, writing lines to `output` (tests collect them).
    static func run(output: @escaping @Sendable (String) -> Void) async throws {
        let started = ContinuousClock.now
        // Only problems are worth the newcomer's attention; the story itself goes to `output`.
        var logger = Logger(label: "ecd.demo") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let environment = try await DemoEnvironment.start(logger: logger)
        do {
            try await DemoStory(environment: environment, say: output).tell()
        } catch {
            await environment.stop()
            throw error
        }
        await environment.stop()
        let elapsed = started.duration(to: .now)
        output("Done in \(String(format2: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)) s; the simulator, the daemon and the temporary database are gone.")
    }
}
