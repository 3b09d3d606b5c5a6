import ArgumentParser

/// `--config PATH`, shared by the commands that read the daemon's configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp(
        "The JSON configuration file (default: Config/ecd.json when it exists). ECD_* environment variables override it.",
        valueName: "path"))
    var path: String?

    /// Loads for `mode`; a bad configuration becomes a failure listing every problem by key.
    func load(mode: ConfigurationMode) throws(CommandFailure) -> AppConfiguration {
        do {
            return try AppConfiguration.load(configPath: path, mode: mode)
        } catch {
            throw Self.failure(error.problems)
        }
    }

    /// For `serve` and `check-config`: loads, then checks what the values point at (the storage
    /// folder), so both refuse the same configurations.
    func loadForServing() throws(CommandFailure) -> AppConfiguration {
        let configuration = try load(mode: .serve)
        let problems = configuration.preflightProblems()
        guard problems.isEmpty else { throw Self.failure(problems) }
        return configuration
    }

    private static func failure(_ problems: [String]) -> CommandFailure {
        let count = problems.count
        return CommandFailure(lines: ["configuration has \(count) problem\(count == 1 ? "" : "s"):"] + problems)
    }
}
