import ECDCLibPQ
import FoundationEssentials
import ECDSync
import Dispatch
import Glibc

/// Owns one `PGconn` (finished in `deinit`) and its prepared statements. Every wait on the
/// server goes through poll(2) with a deadline, so neither a refused, a lost nor a silent server
/// can hold the caller past its timeout. Used by one borrower at a time (the pool hands it out
/// exclusively), hence `@unchecked Sendable`.
final class ConnectionHandle: @unchecked Sendable {
    let connection: OpaquePointer
    let configuration: PostgresConfiguration
    /// Set when the connection can no longer be trusted (lost, or a statement timed out with its
    /// answer still in flight); the pool then drops it instead of handing it out again.
    private(set) var isBroken = false
    let statements: StatementCache

    private init(connection: OpaquePointer, configuration: PostgresConfiguration) {
        self.connection = connection
        self.configuration = configuration
        self.statements = StatementCache(capacity: configuration.statementCacheCapacity)
    }

    /// Where this connection's backend id is listed while it is open (a pool's connections only).
    private var registry: BackendRegistry?
    private var backendPID: Int32 = 0

    deinit {
        PQfinish(connection)
        registry?.remove(backendPID)
    }

    /// Lists the connection's backend in `registry` until it is finished. Once, after connecting.
    func register(in registry: BackendRegistry) {
        backendPID = PQbackendPID(connection)
        self.registry = registry
        registry.add(backendPID)
    }

    /// Opens a connection, giving up at `deadline`. Throws `.unavailable` with libpq's reason.
    static func connect(_ configuration: PostgresConfiguration, deadline: ContinuousClock.Instant) throws -> ConnectionHandle {
        // Defaults first: with expand_dbname the URL's own parameters override them.
        let seconds = max(1, (configuration.connectTimeout.milliseconds + 999) / 1000)
        let pairs: [(String, String)] = [
            ("connect_timeout", String(seconds)), ("application_name", configuration.applicationName),
            ("keepalives", "1"), ("keepalives_idle", "10"), ("keepalives_interval", "5"), ("keepalives_count", "3"),
            ("dbname", configuration.url),
        ]
        let keys = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer { (keys + values).forEach { free($0) } }
        let started: OpaquePointer? = withArrayOfCStrings(keys) { keyPointers in
            withArrayOfCStrings(values) { valuePointers in PQconnectStartParams(keyPointers, valuePointers, 1) }
        }
        guard let started else { throw PostgresError.unavailable("out of memory opening a connection") }
        let handle = ConnectionHandle(connection: started, configuration: configuration)
        guard PQstatus(started) != CONNECTION_BAD else { throw PostgresError.fromConnection(started, sql: nil) }
        // libpq's protocol: behave as if PQconnectPoll had asked to wait for writing.
        var polling = PGRES_POLLING_WRITING
        while polling != PGRES_POLLING_OK {
            switch polling {
            case PGRES_POLLING_FAILED:
                throw PostgresError.fromConnection(started, sql: nil)
            case PGRES_POLLING_READING, PGRES_POLLING_WRITING:
                let reading = polling == PGRES_POLLING_READING
                guard try handle.wait(forReading: reading, until: deadline) else {
                    throw PostgresError.unavailable("connecting to the database timed out")
                }
            default:
                break
            }
            polling = PQconnectPoll(started)
        }
        // Notices (e.g. "relation already exists, skipping") would go to stderr by default.
        PQsetNoticeProcessor(started, { _, _ in }, nil)
        guard PQsetnonblocking(started, 1) == 0 else { throw PostgresError.fromConnection(started, sql: nil) }
        return handle
    }

    // MARK: - State

    var transactionStatus: PGTransactionStatusType { PQtransactionStatus(connection) }

    var isInTransaction: Bool {
        let status = transactionStatus
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    func markBroken() { isBroken = true }

    /// True when the connection still looks usable: not broken, idle, and the server has not
    /// closed it meanwhile (a restart ends idle connections; reading the socket reveals it).
    func isAlive() -> Bool {
        guard !isBroken, PQstatus(connection) == CONNECTION_OK, transactionStatus == PQTRANS_IDLE else { return false }
        // An idle pooled connection is sent nothing, except the server's "terminating connection"
        // error followed by EOF (restart, shutdown, pg_terminate_backend) or, rarely, a changed
        // parameter. Reading it would not always reveal the EOF yet, so anything readable is
        // taken as death: at worst a healthy connection is replaced.
        var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    // MARK: - Running statements

    /// Runs one statement through a cached prepared statement; returns its result.
    func run(_ sql: String, _ parameters: [PostgresValue]) throws -> ResultHandle {
        let deadline = ContinuousClock.now + configuration.statementTimeout
        let encoded = try ParameterBuffer(parameters, sql: sql)
        let name = try preparedName(for: sql, deadline: deadline)
        let sent = encoded.withPointers { values, lengths, formats in
            PQsendQueryPrepared(connection, name, Int32(parameters.count), values, lengths, formats, 0)
        }
        guard sent == 1 else { throw lost(sql: sql) }
        do {
            return try awaitResult(sql: sql, deadline: deadline)
        } catch let error as PostgresError where error.sqlState == "0A000" || error.sqlState == "26000" {
            // "cached plan must not change result type" after a schema change, or a statement
            // the server no longer knows: prepare afresh next time.
            statements.forget(sql)
            throw error
        }
    }

    /// Runs `sql` with the simple query protocol: several statements allowed, no parameters.
    /// For schema scripts and transaction control.
    func runScript(_ sql: String) throws {
        let deadline = ContinuousClock.now + configuration.statementTimeout
        guard PQsendQuery(connection, sql) == 1 else { throw lost(sql: sql) }
        _ = try awaitResult(sql: sql, deadline: deadline)
    }

    private func preparedName(for sql: String, deadline: ContinuousClock.Instant) throws -> String {
        if let name = statements.name(for: sql) { return name }
        if let evicted = statements.evictionCandidate() {
            try runScript("DEALLOCATE \(evicted.name)")
            statements.forget(evicted.sql)
        }
        let name = statements.nextName()
        guard PQsendPrepare(connection, name, sql, 0, nil) == 1 else { throw lost(sql: sql) }
        _ = try awaitResult(sql: sql, deadline: deadline)
        statements.remember(sql, as: name)
        return name
    }

    /// Flushes what was sent, then reads every result of the command. Returns the last result,
    /// or throws the first error. Past `deadline` the command is cancelled and the connection
    /// marked broken (its answer may still arrive, so it cannot be reused).
    private func awaitResult(sql: String, deadline: ContinuousClock.Instant) throws -> ResultHandle {
        while true {
            let flushed = PQflush(connection)
            if flushed == 0 { break }
            guard flushed == 1 else { throw lost(sql: sql) }
            guard try wait(forReading: false, until: deadline) else { throw timedOut(sql: sql) }
        }
        var last: ResultHandle?
        var firstError: PostgresError?
        while true {
            while PQisBusy(connection) == 1 {
                guard try wait(forReading: true, until: deadline) else { throw timedOut(sql: sql) }
                guard PQconsumeInput(connection) == 1 else { throw lost(sql: sql) }
            }
            guard let pointer = PQgetResult(connection) else { break }
            let result = ResultHandle(pointer)
            switch PQresultStatus(pointer) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
                last = result
            default:
                let lostNow = PQstatus(connection) == CONNECTION_BAD
                if lostNow { isBroken = true }
                if firstError == nil {
                    firstError = PostgresError.fromResult(pointer, sql: sql, connectionLost: lostNow)
                }
                if lostNow { throw firstError! }
            }
        }
        if let firstError { throw firstError }
        guard let last else { throw PostgresError(kind: .decoding, message: "no result", sql: sql) }
        return last
    }

    /// Waits until the socket is readable (or writable). False at the deadline.
    private func wait(forReading reading: Bool, until deadline: ContinuousClock.Instant) throws -> Bool {
        let socket = PQsocket(connection)
        guard socket >= 0 else { throw PostgresError.fromConnection(connection, sql: nil) }
        var descriptor = pollfd(fd: socket, events: Int16(reading ? POLLIN : POLLOUT), revents: 0)
        while true {
            let remaining = (deadline - ContinuousClock.now).milliseconds
            if remaining <= 0 { return false }
            let ready = poll(&descriptor, 1, Int32(min(remaining, Int64(Int32.max))))
            if ready > 0 { return true }
            if ready == 0 { return false }
            if errno != EINTR { throw PostgresError.unavailable("poll failed: errno \(errno)") }
        }
    }

    private func lost(sql: String?) -> PostgresError {
        isBroken = true
        return PostgresError.fromConnection(connection, sql: sql)
    }

    private func timedOut(sql: String) -> PostgresError {
        isBroken = true
        // Ask the server to stop the statement so it does not run on after we gave up.
        if let cancel = PQgetCancel(connection) { CancelRequests.send(cancel) }
        return PostgresError(kind: .timeout,
                             message: "no answer within \(configuration.statementTimeout); cancel requested",
                             sql: sql)
    }
}

/// Cancel requests, sent off the caller's thread: `PQcancel` connects to the server and waits
/// for it to close that connection, with no timeout of its own, so against a server that hangs
/// it would hang too. At most `limit` are in flight; past that a cancel is skipped (the server
/// notices the dropped connection when it next writes to it).
enum CancelRequests {
    static let limit = 4
    private static let inFlight = Lock()
    nonisolated(unsafe) private static var count = 0

    static func send(_ cancel: OpaquePointer) {
        let admitted: Bool = inFlight.withLock {
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else {
            PQfreeCancel(cancel)
            return
        }
        // PGcancel holds its own copy of the address and keys: valid after PQfinish.
        nonisolated(unsafe) let request = cancel
        DispatchQueue.global().async {
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(request, &buffer, Int32(buffer.count))
            PQfreeCancel(request)
            inFlight.withLock { count -= 1 }
        }
    }
}

/// Runs `body` with a NULL-terminated `const char * const *` view of `strings` (libpq's form).
private func withArrayOfCStrings<R>(_ strings: [UnsafeMutablePointer<CChar>?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    body(strings.map { $0.map { UnsafePointer($0) } } + [nil])
}
