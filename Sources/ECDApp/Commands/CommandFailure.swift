/// A command that could not do its job, with the explanation for standard error (exit code 1).
/// Messages name what failed (a file, a key, an HTTP status) and never carry a secret.
public struct CommandFailure: Error, Sendable, CustomStringConvertible {
    public let lines: [String]
    public let exitCode: Int32

    public init(_ message: String, exitCode: Int32 = 1) {
        self.lines = [message]
        self.exitCode = exitCode
    }

    public init(lines: [String], exitCode: Int32 = 1) {
        self.lines = lines
        self.exitCode = exitCode
    }

    public var description: String { lines.joined(separator: "\n") }
}
