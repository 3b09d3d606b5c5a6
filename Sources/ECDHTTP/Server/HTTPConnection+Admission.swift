/// What a request must pass before the server holds its body: the head hook (credentials) and the
/// server-wide body budget. Both are decided on the head, so a client that fails them costs the
/// server its head and nothing more.
extension HTTPConnection {
    /// A head whose body is still to come: the head hook, then a declared body charged to the
    /// budget, before a byte of the body is read. False when the request was answered here (the
    /// connection is then closing: with its body unread, the next request cannot be found).
    func admit(_ head: HTTPRequest) -> Bool {
        if let refusal = beginRequest(head) {
            respond(refusal, to: head, context: takeContext(for: head), keepAlive: false)
            return false
        }
        bodyDeadline = MonotonicClock.now() + core.bodyTimeout
        if let declared = parser.remainingDeclaredBody { return chargeBody(declared, head: head) }
        return true
    }

    /// Makes the request's context (its id, its arrival) and runs the head hook on it.
    func beginRequest(_ head: HTTPRequest) -> HTTPResponse? {
        var context = makeContext(for: head)
        context.connectionMemo = memo
        let refusal = core.headHook?(head, &context)
        memo = context.connectionMemo
        self.context = context
        return refusal
    }

    /// The current request's context, made at its head (a new one when there was none), and
    /// forgets it: the next request gets its own.
    func takeContext(for request: HTTPRequest? = nil) -> RequestContext {
        // Moved out, not copied and then cleared: a copy retains each of its values once more.
        context.take() ?? makeContext(for: request)
    }

    /// Raises this request's charge on the body budget to `bytes`. When the budget has no room,
    /// answers 503 (with `Retry-After`) and closes, and returns false.
    func chargeBody(_ bytes: Int, head: HTTPRequest? = nil) -> Bool {
        guard bytes > bodyCharge else { return true }
        if core.reserveBody(bytes - bodyCharge) {
            bodyCharge = bytes
            return true
        }
        respond(HTTPConnection.busy, to: head, context: takeContext(for: head), keepAlive: false)
        return false
    }

    /// Gives the request's charge back: its response is out (or the connection is gone).
    func releaseBody() {
        guard bodyCharge > 0 else { return }
        core.releaseBody(bodyCharge)
        bodyCharge = 0
    }

    static let busy: HTTPResponse = {
        var headers = HTTPHeaders()
        headers.add(name: "Retry-After", value: "1")
        return HTTPError(.serviceUnavailable, code: "server_busy", message: "too many request bodies in progress",
                         headers: headers, closeConnection: true).response
    }()
}
