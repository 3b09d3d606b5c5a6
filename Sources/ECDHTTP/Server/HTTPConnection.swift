import ECDCEpoll
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// One client connection. It lives on a single event loop and is only touched on that loop's
/// thread (hence `@unchecked Sendable`: deferred work hands results back through `loop.execute`).
///
/// Life cycle: read → parse → respond → write, repeated while the connection is kept alive.
/// Reading pauses while a deferred response is pending or output is blocked, which keeps
/// pipelined answers in order and bounds what one client can make us buffer.
final class HTTPConnection: EventHandler, @unchecked Sendable {
    enum Phase {
        case idle        // between requests: keep-alive idle timeout
        case head        // a head is arriving: header timeout (408)
        case body        // a body is arriving: body timeout (408)
        case handling    // deferred work is running, or a response waits for its turn's batch: no timeout, input paused
        case writing     // the socket is full: write timeout, input paused
        case lingering   // answered and closing: drop input until EOF or a short timeout
        case closed
    }

    let fd: Int32
    let core: ServerCore
    let loop: EventLoop
    let peerAddress: String?
    let peerPort: Int?

    var parser: HTTPRequestParser
    /// Received bytes not yet consumed by the parser (empty for a connection between requests).
    var input: [UInt8] = []
    /// Response bytes the socket did not take yet.
    var output: [UInt8] = []
    var outputOffset = 0
    var phase: Phase = .head
    /// Monotonic nanoseconds at which the current phase times out; 0 for none.
    var deadline: UInt64 = 0
    var closeAfterOutput = false
    var interest: UInt32 = 0
    var lingerBytes = 0
    /// The context of the request being read, made when its head was complete (so it carries
    /// what the head hook added); nil between requests.
    var context: RequestContext?
    /// The head hook's memo (`RequestContext.connectionMemo`), kept between this connection's requests.
    var memo: (any Sendable)?
    /// When the body of the request being read must be complete (monotonic ns), from its head.
    var bodyDeadline: UInt64 = 0
    /// Bytes this connection has charged to the server's body budget for its current request.
    var bodyCharge = 0
    /// `METHOD path` of the request whose deferred work is running, for the report of requests a
    /// shutdown deadline cuts (the query is left out: it may carry codes).
    var handlingRequest: String?
    /// A response waiting for its loop turn's batch (``LoopTurn``), in phase `handling`.
    var held: Held?

    struct Held {
        let response: HTTPResponse
        let fallback: HTTPResponse
        let batch: any TurnBatch
        let request: HTTPRequest
        let context: RequestContext
        let keepAlive: Bool
    }

    var isClosed: Bool { phase == .closed }

    init(fd: Int32, core: ServerCore, loop: EventLoop, peerAddress: String?, peerPort: Int?) {
        self.fd = fd
        self.core = core
        self.loop = loop
        self.peerAddress = peerAddress
        self.peerPort = peerPort
        parser = HTTPRequestParser(limits: core.limits)
    }

    /// Registers with the loop; the header timeout runs from now (a silent client is a slowloris).
    func start() {
        phase = .head
        deadline = MonotonicClock.now() + core.headerTimeout
        interest = ecd_EPOLLIN
        guard loop.register(fd, self, events: interest) else {
            phase = .closed
            close(fd)
            core.connectionCount.subtract(1, ordering: .relaxed)
            return
        }
    }

    // MARK: Events

    func handle(events: UInt32) {
        if events & (ecd_EPOLLERR | ecd_EPOLLHUP) != 0 {
            // The peer is gone both ways (or reset us): nothing more can be delivered.
            closeNow()
            return
        }
        if events & ecd_EPOLLOUT != 0 && phase == .writing {
            flushOutput()
        }
        if events & ecd_EPOLLIN != 0 {
            readAvailable()
        }
    }

    func sweep(now: UInt64) {
        guard deadline != 0 && now >= deadline else { return }
        switch phase {
        case .idle, .writing, .lingering:
            closeNow()
        case .head, .body:
            refuse(HTTPParseError(.requestTimeout, "request not received in time"))
        case .handling, .closed:
            break
        }
    }

    private func readAvailable() {
        let buffer = loop.readBuffer
        // A response held for the turn's batch pauses reading as deferred work does (what is left
        // in the socket is reported again by the next wait: the loop's epoll is level-triggered).
        while interest & ecd_EPOLLIN != 0 && !isClosed && phase != .handling {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 {
                received(UnsafeRawBufferPointer(start: buffer.baseAddress, count: n))
                if n < buffer.count { return }
            } else if n == 0 {
                closeNow()
                return
            } else {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { closeNow() }
                return
            }
        }
    }

    private func received(_ fresh: UnsafeRawBufferPointer) {
        if phase == .lingering {
            lingerBytes += fresh.count
            if lingerBytes > 1 << 20 { closeNow() }
            return
        }
        if phase == .idle {
            phase = .head
            deadline = MonotonicClock.now() + core.headerTimeout
        }
        if input.isEmpty {
            // The common case: parse straight from the loop's buffer, keep only a remainder.
            let consumed = process(fresh)
            if !isClosed && consumed < fresh.count {
                input.append(contentsOf: fresh.slice(consumed, fresh.count))
            }
        } else {
            input.append(contentsOf: fresh)
            processInput()
        }
    }

    func processInput() {
        let consumed = input.withUnsafeBytes { process($0) }
        if isClosed || consumed >= input.count {
            input = []
        } else if consumed > 0 {
            input.removeFirst(consumed)
        }
    }

    /// Parses and answers complete requests in `buffer` until it runs out, a response is
    /// deferred, output blocks, or the connection closes. Returns the bytes consumed.
    private func process(_ buffer: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while phase == .idle || phase == .head || phase == .body {
            let step: (consumed: Int, event: HTTPRequestParser.Event)
            do {
                step = try parser.parse(buffer.slice(offset, buffer.count))
            } catch {
                refuse(error)
                return buffer.count
            }
            offset += step.consumed
            // A chunked body grows as it arrives: charge what the parser holds now.
            guard chargeBody(parser.bodyCapacity) else { return buffer.count }
            switch step.event {
            case .needMore:
                if parser.isReadingBody {
                    enterBodyPhase()
                } else if (parser.hasPartialHead || offset < buffer.count) && phase == .idle {
                    phase = .head
                    deadline = MonotonicClock.now() + core.headerTimeout
                }
                return offset
            case .head(let head, let expectsContinue):
                guard admit(head) else { return buffer.count }
                enterBodyPhase()
                if expectsContinue { send(HTTPConnection.continueBytes) }
            case .request(let request, let keepAlive):
                guard chargeBody(request.body.capacity) else { return buffer.count }
                handle(request, keepAlive: keepAlive)
            }
        }
        // Answered and closing: what is left of the buffer is dropped, never kept.
        return phase == .lingering || isClosed ? buffer.count : offset
    }

    func enterBodyPhase() {
        phase = .body
        deadline = bodyDeadline
    }

    static let continueBytes = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
}
