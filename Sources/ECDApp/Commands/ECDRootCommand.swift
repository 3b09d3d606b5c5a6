import ArgumentParser

/// `ecd`: the root of the command tree. Each subcommand lives in its own file; the ones that drive
/// the daemon's own code (serve, demo, simulator, migrate, keys, backup) call into the other targets.
struct ECDRootCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ecd",
        abstract: "ecd, the Enterprise Connect daemon for Cronofy.",
        discussion: "Exit codes: 0 success, 1 a failure explained on standard error, 2 bad usage.",
        version: ECDVersion.current,
        subcommands: ECDRootCommand.subcommandList)
}

/// The version `ecd --version` prints and the Cronofy client's user agent names.
public enum ECDVersion {
    public static let current = "0.1.0"
}
