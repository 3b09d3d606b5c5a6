import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The entry point `ecd`'s `@main` calls. It owns the exit-code contract of api-contract.md §7:
/// 0 success, 1 a failure explained on standard error, 2 bad usage (swift-argument-parser would
/// use 64, `EX_USAGE`, so its errors are mapped here).
public enum ECDCommandLine {
    public static let successCode: Int32 = 0
    public static let failureCode: Int32 = 1
    public static let usageCode: Int32 = 2

    /// Runs `ecd` with the process's arguments and exits with the contract's code.
    public static func main() async -> Never {
        let code = await run(Array(CommandLine.arguments.dropFirst()))
        exit(code)
    }

    /// Parses and runs one command line; returns the exit code.
    public static func run(_ arguments: [String]) async -> Int32 {
        var command: any ParsableCommand
        do {
            command = try await ECDRootCommand.asyncParseAsRoot(arguments)
        } catch {
            return report(error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return successCode
        } catch {
            return report(error)
        }
    }

    /// Prints what the user needs to see for `error` and picks the exit code.
    static func report(_ error: any Error) -> Int32 {
        if let failure = error as? CommandFailure {
            // The first line says what failed; the ones after it (one per problem) stand alone so
            // each starts with the key it names.
            for (index, line) in failure.lines.enumerated() { StandardStreams.error(index == 0 ? "ecd: \(line)" : line) }
            return failure.exitCode
        }
        if let exitCode = error as? ExitCode {
            return exitCode.rawValue
        }
        let code = ECDRootCommand.exitCode(for: error)
        let text = ECDRootCommand.fullMessage(for: error)
        if code == .success {
            if !text.isEmpty { StandardStreams.out(text) }  // --help, --version
            return successCode
        }
        if !text.isEmpty { StandardStreams.error(text) }
        return code == .validationFailure ? usageCode : failureCode
    }
}
