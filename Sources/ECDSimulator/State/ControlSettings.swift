/// The knobs tests turn while the simulator runs: refusals, dropped callbacks, signing, the next
/// approved identity, and injected faults. Owned by `SimulatorStore`, like `SimulatorState`.
struct ControlSettings: Sendable {
    /// Lower-cased mailboxes.
    var refusedEmails: Set<String>
    var droppedEmails: Set<String>
    /// Lower-cased mailboxes whose callbacks carry no `state` (Cronofy documents state as
    /// optional on the callback; ecd must not depend on it).
    var statelessEmails: Set<String> = []
    /// Lower-cased mailboxes that grant availability only (rooms with `AvailabilityOnly` folder
    /// rights): any scope but `free_busy` is answered `unable_to_grant_scope` (cronofy-api.md §8).
    var freeBusyOnlyEmails: Set<String> = []
    var signCallbacks: Bool
    var defaultIdentity: ServiceAccountIdentity
    var nextIdentity: ServiceAccountIdentity?
    var faults: [SimulatorFaultRule]
    var resources: [SimulatorResource]?
    var autoApprove: Bool

    init(configuration: SimulatorConfiguration) {
        refusedEmails = Set(configuration.refusedEmails.map { $0.lowercased() })
        droppedEmails = Set(configuration.droppedCallbackEmails.map { $0.lowercased() })
        signCallbacks = configuration.signCallbacks
        defaultIdentity = ServiceAccountIdentity(
            email: configuration.serviceAccountEmail, domain: configuration.serviceAccountDomain,
            provider: configuration.serviceAccountProvider)
        faults = configuration.faults.filter { $0.count > 0 }
        resources = configuration.resources
        autoApprove = configuration.autoApprove
    }

    /// The identity the next approval connects: a one-shot override, else the configured one.
    mutating func takeIdentity() -> ServiceAccountIdentity {
        defer { nextIdentity = nil }
        return nextIdentity ?? defaultIdentity
    }

    /// The fault for this call, if one is pending: the oldest rule naming the endpoint, or `any`
    /// (which covers the five API endpoints, not the browser's approval page). Counts down.
    mutating func takeFault(for endpoint: SimulatorEndpoint) -> SimulatorFault? {
        let index = faults.firstIndex { rule in
            rule.endpoint == endpoint || (rule.endpoint == .any && endpoint != .authorize)
        }
        guard let index else { return nil }
        let fault = faults[index].fault
        faults[index].count -= 1
        if faults[index].count <= 0 { faults.remove(at: index) }
        return fault
    }

    func resources(domain: String) -> [SimulatorResource] {
        resources ?? SimulatorResource.defaults(domain: domain)
    }
}
