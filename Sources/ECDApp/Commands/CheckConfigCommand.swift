import ArgumentParser

/// `ecd check-config`: validate as `serve` would, print the effective configuration.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration and print its effective values, secrets redacted.",
        discussion: """
            Reads the file and the ECD_* environment exactly as `ecd serve` would. On success prints \
            every key with its value and where it came from (secrets as <redacted>) and exits 0; \
            otherwise prints one line per problem, naming the key, on standard error and exits 1.
            """)

    @OptionGroup var config: ConfigOptions

    func run() throws {
        let configuration = try config.loadForServing()
        StandardStreams.out(configuration.effectiveDescription(redacted: true))
    }
}
