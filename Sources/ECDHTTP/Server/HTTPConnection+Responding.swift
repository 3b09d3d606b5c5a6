import ECDCEpoll
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

extension HTTPConnection {
    /// A new request's context: its id, its route, and now as the time its head was complete. The id is the
    /// client's `X-Request-Id` when that is a valid one (so a proxy's or caller's id follows the
    /// request through ecd's log and back in the response), else a new one.
    func makeContext(for request: HTTPRequest? = nil) -> RequestContext {
        let incoming = request?.headers["X-Request-Id"]
        let requestID = incoming.flatMap { RequestIDGenerator.isAcceptable($0) ? $0 : nil } ?? loop.requestIDs.next()
        var context = RequestContext(
            requestID: requestID, peerAddress: peerAddress, peerPort: peerPort,
            receivedAt: .now, listenerName: core.name
        )
        context.turn = loop.turn
        // Routed once, here at the head: the head hook, the responder and `onResponse` all read it.
        if let request { context.settleRoute(core.responder.route(request)) }
        return context
    }

    /// Calls the responder: a `.response` is written right here, on this thread; `.deferred`
    /// work runs in a task and its response comes back to this loop to be written.
    func handle(_ request: HTTPRequest, keepAlive: Bool) {
        let keep = keepAlive && !core.isDraining
        // A stopping server takes no new request; one without a body meets the head hook here (one
        // with a body met it at its head).
        if core.isDraining, let refusal = core.drainingResponse {
            respond(refusal, to: request, context: takeContext(for: request), keepAlive: false)
            return
        }
        if context == nil, let refusal = beginRequest(request) {
            respond(refusal, to: request, context: takeContext(for: request), keepAlive: keep)
            return
        }
        let context = takeContext(for: request)
        let result = core.responder.respond(to: request, context: context)
        let hold = loop.turn.takeHold()
        switch result {
        case .response(let response):
            if let hold {
                // Sent once the turn's batch is committed (`releaseHeld`); until then nothing more
                // of this connection is read or parsed, so answers stay in order.
                held = Held(response: response, fallback: hold.fallback, batch: hold.batch, request: request,
                            context: context, keepAlive: keep)
                phase = .handling
                deadline = 0
                loop.turn.park(self)
            } else {
                respond(response, to: request, context: context, keepAlive: keep)
            }
        case .deferred(let work):
            // A hold only means something for a response written on this turn.
            assert(hold == nil, "a deferred response cannot be held for the loop's turn")
            phase = .handling
            handlingRequest = "\(request.method.rawValue) \(request.path)"
            deadline = 0
            setInterest(0)
            let loop = self.loop
            DeferredRun.start(work, timeout: core.limits.handlerTimeout) { response in
                loop.execute { self.finishDeferred(response, to: request, context: context, keepAlive: keep) }
            }
        }
    }

    func finishDeferred(_ response: HTTPResponse, to request: HTTPRequest, context: RequestContext, keepAlive: Bool) {
        guard !isClosed else { return }
        handlingRequest = nil
        setInterest(ecd_EPOLLIN)
        respond(response, to: request, context: context, keepAlive: keepAlive && !core.isDraining)
        if phase == .idle && !input.isEmpty { processInput() }
    }

    /// Sends the response held for the turn's batch (its fallback when `committed` says the batch
    /// failed), then goes on with input that arrived meanwhile.
    func releaseHeld(committed: (any TurnBatch) -> Bool) {
        // Moved out (a copy of the request, its context and both responses would be retained
        // field by field, then released again by clearing `held`).
        guard let held = held.take() else { return }
        guard !isClosed else { return }
        let response = committed(held.batch) ? held.response : held.fallback
        respond(response, to: held.request, context: held.context, keepAlive: held.keepAlive && !core.isDraining)
        if phase == .idle && !input.isEmpty { processInput() }
    }

    static let internalError = HTTPError(.internalServerError, code: "internal_error", message: "internal error").response

    /// Answers a request the parser refused (or a timeout), then closes.
    func refuse(_ error: HTTPParseError) {
        let response = HTTPError(error.status, code: HTTPConnection.errorCode(error.status), message: error.message,
                                 closeConnection: true).response
        respond(response, to: nil, context: takeContext(), keepAlive: false)
    }

    static func errorCode(_ status: HTTPStatus) -> String {
        switch status.code {
        case 408: "request_timeout"
        case 413: "body_too_large"
        case 414: "uri_too_long"
        case 417: "expectation_failed"
        case 431: "headers_too_large"
        case 501: "not_implemented"
        case 505: "version_not_supported"
        default: "bad_request"
        }
    }

    /// Serializes into the loop's buffer and sends it in one call.
    func respond(_ response: HTTPResponse, to request: HTTPRequest?, context: RequestContext, keepAlive: Bool) {
        let close = !keepAlive || response.headers["Connection"].map { $0.equalsASCIICaseInsensitive("close") } == true
        let date = loop.dateCache.current()
        let framing = ResponseSerializer.Framing(
            isHead: request?.method == .head, keepAlive: !close, requestID: context.requestID
        )
        loop.writeBuffer.removeAll(keepingCapacity: true)
        ResponseSerializer.serialize(response, framing: framing, date: date, into: &loop.writeBuffer)
        if loop.writeBuffer.count > 256 * 1024 {
            // Do not let one large response pin a large scratch buffer on the loop.
            let bytes = loop.writeBuffer
            loop.writeBuffer = []
            loop.writeBuffer.reserveCapacity(16 * 1024)
            send(bytes)
        } else {
            send(loop.writeBuffer)
        }
        releaseBody()
        if let hook = core.onResponse {
            hook(request, response, context, ContinuousClock.now - context.receivedAt)
        }
        guard !isClosed else { return }
        if close { closeAfterOutput = true }
        guard phase != .writing else { return }
        if closeAfterOutput {
            beginLinger()
        } else {
            phase = .idle
            deadline = MonotonicClock.now() + core.idleTimeout
        }
    }

    /// Sends `bytes`, queueing whatever the socket does not take and waiting for writability.
    func send(_ bytes: [UInt8]) {
        guard !isClosed else { return }
        if !output.isEmpty {
            output.append(contentsOf: bytes)
            return
        }
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n == bytes.count { return }
        if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            closeNow()
            return
        }
        output = Array(bytes[max(n, 0)...])
        outputOffset = 0
        phase = .writing
        deadline = MonotonicClock.now() + core.writeTimeout
        setInterest(ecd_EPOLLOUT)
    }

    func flushOutput() {
        let n = output.withUnsafeBytes { buffer in
            Glibc.send(fd, buffer.baseAddress! + outputOffset, buffer.count - outputOffset, Int32(MSG_NOSIGNAL))
        }
        if n < 0 {
            if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { closeNow() }
            return
        }
        outputOffset += n
        guard outputOffset == output.count else {
            deadline = MonotonicClock.now() + core.writeTimeout
            return
        }
        output = []
        outputOffset = 0
        if closeAfterOutput {
            beginLinger()
            return
        }
        setInterest(ecd_EPOLLIN)
        if parser.isReadingBody {
            // A `100 Continue` that had to wait: the body's deadline still runs from its head.
            enterBodyPhase()
        } else {
            phase = .idle
            deadline = MonotonicClock.now() + core.idleTimeout
        }
        if !input.isEmpty { processInput() }
    }

    /// Half-closes and drains: closing with unread input would make the kernel send a reset,
    /// which can destroy the response before the client reads it (RFC 9112 §9.6).
    func beginLinger() {
        phase = .lingering
        // Nothing more is parsed: let go of a partly read request and its body now (what is left
        // of `input` is dropped by the parsing loop that is running, if one is).
        parser = HTTPRequestParser(limits: core.limits)
        context = nil
        releaseBody()
        shutdown(fd, Int32(SHUT_WR))
        // While the server drains, a client that keeps its socket open must not hold up the stop.
        deadline = MonotonicClock.now() + (core.isDraining ? min(core.lingerTimeout, 200_000_000) : core.lingerTimeout)
        lingerBytes = 0
        setInterest(ecd_EPOLLIN)
    }

    func setInterest(_ events: UInt32) {
        guard events != interest, !isClosed else { return }
        interest = events
        loop.modify(fd, events: events)
    }

    func closeNow() {
        guard !isClosed else { return }
        phase = .closed
        deadline = 0
        loop.deregister(fd)
        close(fd)
        output = []
        parser = HTTPRequestParser(limits: core.limits)
        releaseBody()
        core.connectionCount.subtract(1, ordering: .relaxed)
    }

    /// Graceful stop: a connection between requests closes now; one mid-request finishes it
    /// (its response says `Connection: close`).
    func drain() {
        switch phase {
        case .idle:
            closeNow()
        case .head where !parser.hasPartialHead && input.isEmpty:
            closeNow()
        default:
            break
        }
    }
}
