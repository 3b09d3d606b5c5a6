/// Per-listener protection limits. Each one names the status a client gets when it is crossed.
public struct HTTPLimits: Sendable {
    /// Longest request line (method, target, version) → 414.
    public var maxRequestLineBytes = 8 * 1024
    /// Longest header section (the field lines after the request line, also the trailers) → 431.
    public var maxHeaderBytes = 16 * 1024
    /// Most header fields (also trailer fields) → 431.
    public var maxHeaderCount = 100
    /// Largest body, declared or chunked → 413 (answered before reading a declared body).
    public var maxBodyBytes = 1 << 20
    /// Longest chunk-size line including extensions → 400 (extensions are never needed).
    public var maxChunkLineBytes = 4 * 1024
    /// From accepting a connection, or from the first byte of a later request, to a complete head → 408.
    public var headerReadTimeout: Duration = .seconds(10)
    /// From a complete head to a complete body, in total → 408. Bytes that trickle in do not
    /// extend it: a body has this long however slowly it is sent.
    public var bodyReadTimeout: Duration = .seconds(30)
    /// How long a kept-alive connection may wait for its next request before it is closed silently.
    public var keepAliveIdleTimeout: Duration = .seconds(60)
    /// How long deferred (async) work may take before the request is answered 503
    /// `handler_timeout` in its place; the work is cancelled and its late result dropped.
    public var handlerTimeout: Duration = .seconds(60)
    /// How long a response may wait for the peer to read it before the connection is dropped.
    public var writeTimeout: Duration = .seconds(30)
    /// Open connections per listener; one more is answered 503 and closed.
    public var maxConnections = 10_000
    /// Request body bytes held at once across all connections of the server → 503 with
    /// `Retry-After` and close. A declared body is charged in full before any of it is read (and
    /// only once the head hook has let it in); a chunked one as its buffer grows. The charge is
    /// returned when the request's response is sent (a chunked body is checked after each read,
    /// so one may overshoot by its last chunk). Without it, `maxConnections` × `maxBodyBytes`
    /// (10 GiB by default) could be asked of the process.
    public var maxBufferedBodyBytes = 64 << 20

    public init() {}
}
