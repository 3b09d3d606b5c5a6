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
            let count = error.problems.count
            throw CommandFailure(lines: ["configuration has \(count) problem\(count == 1 ? "" : "s"):"] + error.problems)
        }
    }
}
