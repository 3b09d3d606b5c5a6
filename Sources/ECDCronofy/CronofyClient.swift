import ECDSync
import FoundationEssentials

/// The Cronofy API client for Enterprise Connect. Thread-safe; share one per process together with
/// one budget (`RequestBudget`, or a cluster's shared one). Every call is rate-limited by the budget and retried per `RetryPolicy`.
public final class CronofyClient: Sendable {
    public let configuration: CronofyConfiguration
    let transport: any CronofyTransport
    let budget: any RequestBudgeting
    let retryPolicy: RetryPolicy
    /// Injection points for tests: how to sleep between retries and where jitter comes from.
    let sleep: @Sendable (Duration) async -> Void
    let random: @Sendable () -> Double
    private let hook = Locked<(@Sendable (String, String, Duration) -> Void)?>(nil)
    private let budgetHook = Locked<(@Sendable (String, Duration) -> Void)?>(nil)

    public convenience init(configuration: CronofyConfiguration, transport: any CronofyTransport = HTTPTransport(),
                            budget: any RequestBudgeting, retryPolicy: RetryPolicy = RetryPolicy()) {
        self.init(configuration: configuration, transport: transport, budget: budget, retryPolicy: retryPolicy,
                  sleep: { try? await Task.sleep(for: $0) }, random: { Double.random(in: 0...1) })
    }

    init(configuration: CronofyConfiguration, transport: any CronofyTransport, budget: any RequestBudgeting,
         retryPolicy: RetryPolicy, sleep: @escaping @Sendable (Duration) async -> Void,
         random: @escaping @Sendable () -> Double) {
        self.configuration = configuration
        self.transport = transport
        self.budget = budget
        self.retryPolicy = retryPolicy
        self.sleep = sleep
        self.random = random
    }

    public var apiURL: URL { configuration.apiURL }
    public var appURL: URL { configuration.appURL }

    /// Metrics hook, called once per HTTP attempt with the endpoint name ("token", "revoke",
    /// "authorizations", "userinfo", "resources"), the outcome ("ok" or `CronofyError.outcome`:
    /// "invalid_grant", "429", "5xx", "timeout", ...) and the attempt's duration (budget wait
    /// excluded). Called on the calling task; must not block.
    public var onCall: (@Sendable (String, String, Duration) -> Void)? {
        get { hook.withLock { $0 } }
        set { hook.withLock { $0 = newValue } }
    }

    /// Metrics hook, called once per HTTP attempt with the endpoint name and how long the attempt
    /// waited for the shared request budget (zero when a token was available at once).
    public var onBudgetWait: (@Sendable (String, Duration) -> Void)? {
        get { budgetHook.withLock { $0 } }
        set { budgetHook.withLock { $0 = newValue } }
    }

    /// The browser URL that starts Enterprise Connect for a domain admin
    /// (`{app}/enterprise_connect/oauth/authorize`).
    public func enterpriseConnectAuthorizeURL(redirectURI: String, scope: String, delegatedScope: String,
                                              state: String) -> URL {
        let query = PercentEncoding.query([
            ("response_type", "code"), ("client_id", configuration.clientID), ("redirect_uri", redirectURI),
            ("scope", scope), ("delegated_scope", delegatedScope), ("state", state),
        ])
        return URLJoin.join(configuration.appURL, "/enterprise_connect/oauth/authorize", percentEncodedQuery: query)
    }
}

/// What one call needs beyond the request itself.
struct CallSpec {
    var endpoint: String
    var method: String
    var path: String
    var bearer: String?
    var body: [UInt8]?
    /// Credentials in the request, scrubbed from any server text that reaches an error.
    var secrets: [String]
    /// False for the authorization-code exchange and the refresh: a timed-out attempt may have
    /// spent the code or rotated the refresh token, so
    /// only failures that prove the request never took effect (5xx, 429, refused) are retried.
    var idempotent = true
}

extension CronofyClient {
    /// Runs one call through budget, transport, error mapping and retries, and hands the body of
    /// the 2xx response to `decode`. A body that does not decode is reported as outcome
    /// "decoding" and not retried (the same server would send the same body again).
    func perform<T>(_ spec: CallSpec, decode: ([UInt8]) throws(CronofyError) -> T) async throws(CronofyError) -> T {
        let request = makeRequest(spec)
        let mapper = ResponseMapper(secrets: spec.secrets + [configuration.clientSecret])
        var attempt = 0
        while true {
            attempt += 1
            // Bounded: with the budget spent for longer than `maxWait` (a backlog, a long 429
            // penalty) the call fails as rate-limited now rather than waiting without end.
            guard let waited = await budget.acquire(within: budget.maxWait) else {
                report(spec.endpoint, "budget_exhausted", since: ContinuousClock.now)
                throw .rateLimited(retryAfter: budget.maxWait)
            }
            budgetHook.withLock { $0 }?(spec.endpoint, waited)
            let started = ContinuousClock.now
            let outcome = await attemptOnce(request, spec: spec, mapper: mapper, decode: decode)
            switch outcome {
            case .success(let value):
                report(spec.endpoint, "ok", since: started)
                return value
            case .failure(let failure, let retryable):
                report(spec.endpoint, failure.outcome, since: started)
                var retryAfter: Duration?
                if case .rateLimited(let after) = failure {
                    retryAfter = after
                    await budget.penalize(retryAfter: retryPolicy.penalty(retryAfter: after))
                }
                guard retryable, attempt < retryPolicy.maxAttempts, !Task.isCancelled else { throw failure }
                await sleep(retryPolicy.delay(afterAttempt: attempt, retryAfter: retryAfter, unit: random()))
            }
        }
    }

    private enum Attempt<T> {
        case success(T)
        case failure(CronofyError, retryable: Bool)
    }

    private func attemptOnce<T>(_ request: TransportRequest, spec: CallSpec, mapper: ResponseMapper,
                                decode: ([UInt8]) throws(CronofyError) -> T) async -> Attempt<T> {
        let response: TransportResponse
        do {
            response = try await transport.send(request)
        } catch {
            let mapped = ResponseMapper.transportFailure(error)
            return .failure(mapped.error,
                            retryable: mapped.error.isTransient && (spec.idempotent || !mapped.mayHaveReachedServer))
        }
        guard (200..<300).contains(response.status) else {
            // A 5xx or 429 answer means the server did not act on the request: safe to repeat.
            let failure = mapper.error(for: response)
            return .failure(failure, retryable: failure.isTransient)
        }
        do throws(CronofyError) {
            return .success(try decode(response.body))
        } catch {
            return .failure(error, retryable: false)
        }
    }

    /// A call whose response body is irrelevant (revoke, delegated-access requests: 200/202).
    func perform(_ spec: CallSpec) async throws(CronofyError) {
        try await perform(spec) { (_: [UInt8]) throws(CronofyError) in () }
    }

    /// A call whose JSON body decodes to `T`; decoding errors name the field, never the values.
    func performDecoding<T: Decodable>(_ spec: CallSpec, as type: T.Type) async throws(CronofyError) -> T {
        try await perform(spec) { (body: [UInt8]) throws(CronofyError) -> T in
            do {
                return try JSONDecoder().decode(T.self, from: Data(body))
            } catch let error as DecodingError {
                throw .decoding(Self.describe(error))
            } catch {
                throw .decoding("unreadable body")
            }
        }
    }

    func makeRequest(_ spec: CallSpec) -> TransportRequest {
        var headers: [(String, String)] = [("Accept", "application/json"), ("User-Agent", configuration.userAgent)]
        if spec.body != nil { headers.append(("Content-Type", "application/json; charset=utf-8")) }
        if let bearer = spec.bearer { headers.append(("Authorization", "Bearer \(bearer)")) }
        return TransportRequest(method: spec.method, url: URLJoin.join(configuration.apiURL, spec.path),
                                headers: headers, body: spec.body, timeout: configuration.requestTimeout)
    }

    private func report(_ endpoint: String, _ outcome: String, since start: ContinuousClock.Instant) {
        hook.withLock { $0 }?(endpoint, outcome, ContinuousClock.now - start)
    }

    /// Coding path and kind only: `DecodingError` messages can quote the offending value.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "body" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing \(parent == "body" ? key.stringValue : parent + "." + key.stringValue)"
        case .typeMismatch(_, let context): return "wrong type at \(path(context))"
        case .valueNotFound(_, let context): return "null at \(path(context))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "body is not valid JSON" : "invalid value at \(path(context))"
        @unknown default: return "undecodable body"
        }
    }
}
