/// Test-time control of a running simulator: fault injection and inspection. Each method has an
/// HTTP twin under `/_simulator` (see `SimulatorControlRoutes` and docs/simulator.md), so a test
/// in another process can do the same. Every method is safe to call from any thread.
public final class SimulatorControl: Sendable {
    let store: SimulatorStore

    init(store: SimulatorStore) {
        self.store = store
    }

    // MARK: Delegated access

    /// Later requests for `email` get the callback error `unable_to_grant_scope`.
    public func refuse(email: String) { store.withSettings { _ = $0.refusedEmails.insert(email.lowercased()) } }

    /// Undoes `refuse(email:)`.
    public func allow(email: String) { store.withSettings { _ = $0.refusedEmails.remove(email.lowercased()) } }

    /// Later callbacks for `email` are never sent (they are still recorded, marked `dropped`).
    public func dropCallbacks(email: String) { store.withSettings { _ = $0.droppedEmails.insert(email.lowercased()) } }

    /// Undoes `dropCallbacks(email:)`.
    public func resumeCallbacks(email: String) { store.withSettings { _ = $0.droppedEmails.remove(email.lowercased()) } }

    /// Later callbacks for `email` carry no `state` (the request's URL is all that names them).
    public func omitState(email: String) { store.withSettings { _ = $0.statelessEmails.insert(email.lowercased()) } }

    /// `email` allows availability only (free/busy-only mailbox): a request for more than
    /// `free_busy` gets the callback error `unable_to_grant_scope`.
    public func freeBusyOnly(email: String) { store.withSettings { _ = $0.freeBusyOnlyEmails.insert(email.lowercased()) } }

    /// Turns `Cronofy-HMAC-SHA256` on callbacks on or off (applies to callbacks not yet built).
    public func setCallbackSigning(_ enabled: Bool) { store.withSettings { $0.signCallbacks = enabled } }

    // MARK: Service accounts

    /// The next approval (page shown or auto-approved) connects this identity instead of the
    /// configured one; later approvals go back to the configured one. Lets a test connect one
    /// service account per organisation.
    public func setNextServiceAccount(_ identity: ServiceAccountIdentity) {
        store.withSettings { $0.nextIdentity = identity }
    }

    /// Approve every authorize request at once (as `auto_approve=1` does for one).
    public func setAutoApprove(_ enabled: Bool) { store.withSettings { $0.autoApprove = enabled } }

    // MARK: Faults

    /// Applies `rule.fault` to the next `rule.count` calls of `rule.endpoint`. Rules queue up:
    /// the oldest matching one applies first.
    public func inject(_ rule: SimulatorFaultRule) {
        guard rule.count > 0 else { return }
        store.withSettings { $0.faults.append(rule) }
    }

    /// Convenience for `inject(_:)`.
    public func fail(_ endpoint: SimulatorEndpoint, with fault: SimulatorFault, times count: Int = 1) {
        inject(SimulatorFaultRule(endpoint: endpoint, fault: fault, count: count))
    }

    /// Removes every pending fault.
    public func clearFaults() { store.withSettings { $0.faults.removeAll() } }

    /// Faults still pending.
    public func pendingFaults() -> [SimulatorFaultRule] { store.withSettings { $0.faults } }

    // MARK: Tokens

    /// This refresh token stops working: its next use gets `invalid_grant`. Returns false when it
    /// was unknown or already spent.
    @discardableResult
    public func revokeRefreshToken(_ token: String) -> Bool {
        store.withState { state, _ in state.disableRefreshToken(token) }
    }

    /// Revokes the authorization of `sub` (`acc_…`, or `ser_…` with the cascade to its accounts),
    /// as if the user or admin had revoked it at Cronofy: its tokens get 401 and `invalid_grant`.
    @discardableResult
    public func revokeAuthorization(sub: String) -> Bool {
        store.withState { state, _ in state.revoke(sub: sub) }
    }

    /// Revokes the account authorized for `email`. Returns false when there is none.
    @discardableResult
    public func revokeAuthorization(email: String) -> Bool {
        store.withState { state, _ in
            guard let sub = state.accountSub(email: email) else { return false }
            return state.revoke(sub: sub)
        }
    }

    /// Every access token issued so far expires now (the next use gets 401).
    public func expireAccessTokens() { store.withState { state, now in state.expireAccessTokens(now: now) } }

    // MARK: Inspection

    /// Every access token, refresh token and code ever issued.
    public func issued() -> SimulatorIssued { store.withState { state, _ in state.issued } }

    /// Every callback built so far, with its delivery attempts.
    public func callbacks() -> [SimulatorCallback] { store.recordedCallbacks() }

    /// Calls received on the API endpoints, oldest first; `endpoint` filters (`.any` = all).
    public func calls(_ endpoint: SimulatorEndpoint = .any) -> [SimulatorCall] {
        let calls = store.recordedCalls()
        return endpoint == .any ? calls : calls.filter { $0.endpoint == endpoint }
    }

    /// Waits until at least `count` callbacks are finished (delivered, dropped or given up), or
    /// `timeout` passes; returns the callbacks as they are then.
    public func waitForCallbacks(count: Int, timeout: Duration = .seconds(10)) async -> [SimulatorCallback] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let callbacks = store.recordedCallbacks()
            if callbacks.filter(\.finished).count >= count || ContinuousClock.now >= deadline { return callbacks }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
