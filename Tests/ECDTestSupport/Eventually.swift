/// Polls `condition` until it holds; false when `timeout` passed first (after one last look),
/// which the caller must check: a wait whose timeout is ignored lets a test go on from a state it
/// never reached. The one polling wait of every test target.
public func eventually(
    timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
