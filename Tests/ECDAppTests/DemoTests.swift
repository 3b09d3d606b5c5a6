import Foundation
import Testing
@testable import ECDApp

/// `ecd demo` tells the whole story, green, in a few seconds.
@Suite struct DemoTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func append(_ line: String) { lock.withLock { stored.append(line) } }
        var all: [String] { lock.withLock { stored } }
    }

    // How fast the demo runs is a benchmark's business, not a test's; the time limit only turns
    // a hang into a failure.
    @Test(.timeLimit(.minutes(2))) func demoRunsTheWholeFlow() async throws {
        let lines = Lines()
        try await Demo.run(output: { lines.append($0) })
        let text = lines.all.joined(separator: "\n")
        #expect(text.contains("Service account connected") || text.contains("service-account@example.com"))
        #expect(text.contains("alice@example.com: active"))
        #expect(text.contains("\(DemoEnvironment.refusedEmail): failed"))
        #expect(text.contains("unable_to_grant_scope"))
        #expect(text.contains("revoked"))
        #expect(text.contains("account.revoked"))
        #expect(text.contains("Done in"))
        // Tokens appear only as short prefixes.
        let tokenLines = lines.all.filter { $0.contains("token") && $0.contains("…") }
        #expect(!tokenLines.isEmpty)
    }
}
