/// Everything wrong with a configuration, one line per problem, each naming its key
/// (`cronofy.client_id: required`). Never carries a secret value.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let problems: [String]

    public init(problems: [String]) { self.problems = problems }

    public var description: String { problems.joined(separator: "\n") }
}
