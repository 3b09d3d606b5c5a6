import ArgumentParser

/// `ecd demo`: the whole flow against a local simulator, with no setup.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole Enterprise Connect flow against a local Cronofy simulator, with no setup.",
        discussion: """
            Starts the simulator and a daemon on free loopback ports with a temporary database, \
            connects a service account, requests accounts (one of them refused), fetches and \
            refreshes a token, revokes an account, printing each step; then removes everything.
            """)

    func run() async throws {
        do {
            try await Demo.run()
        } catch {
            throw CommandFailure("demo failed: \(error)")
        }
    }
}
