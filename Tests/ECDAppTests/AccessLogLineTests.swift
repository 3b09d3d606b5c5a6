import ECDSync
import ECDTestSupport
import Foundation
import Logging
import Testing
@testable import ECDApp
@testable import ECDHTTP

@Suite("Access log line")
struct AccessLogLineTests {
    /// 2026-11-28T10:00:00.007Z
    let seconds = 1_795_860_000, milliseconds = 7

    func encoded(_ line: AccessLogLine, _ format: LogFormat, label: String = "ecd") -> String {
        var out: [UInt8] = []
        line.append(format: format, label: label, seconds: seconds, milliseconds: milliseconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    var tokenRead: AccessLogLine {
        AccessLogLine(level: .debug, requestID: "r-1", listener: "internal", method: "GET",
                      route: "/v1/accounts/{email}/token", status: 200, durationHundredths: 12,
                      bytes: 182, client: "127.0.0.1", apiKey: "billing")
    }

    /// Everything optional present, and values that need escaping: a request id may be any
    /// visible ASCII (quotes and backslashes included), a label is the operator's text.
    var odd: AccessLogLine {
        AccessLogLine(level: .warning, requestID: #"a"b\c=d"#, listener: "public", method: "-",
                      route: "unmatched", status: 503, durationHundredths: 123_450,
                      bytes: 0, client: "2001:db8::1", proto: "https",
                      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", apiKey: "")
    }

    @Test("JSON: the exact bytes of a token read")
    func jsonTokenRead() {
        #expect(encoded(tokenRead, .json) == #"{"ts":"2026-11-28T10:00:00.007Z","level":"debug","msg":"request","label":"ecd","#
            + #""api_key":"billing","bytes":182,"client":"127.0.0.1","duration_ms":0.12,"listener":"internal","method":"GET","#
            + #""request_id":"r-1","route":"/v1/accounts/{email}/token","status":200}"# + "\n")
    }

    @Test("JSON: every optional field, escaped quotes and backslashes, a label with a control character")
    func jsonOdd() {
        #expect(encoded(odd, .json, label: "ecd\tx\u{1}é") == #"{"ts":"2026-11-28T10:00:00.007Z","level":"warning","msg":"request","#
            + #""label":"ecd\tx\u0001é","api_key":"","bytes":0,"client":"2001:db8::1","duration_ms":1234.5,"listener":"public","#
            + #""method":"-","proto":"https","request_id":"a\"b\\c=d","route":"unmatched","status":503,"#
            + #""traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}"# + "\n")
    }

    @Test("text: plain values bare, values with quotes, '=', backslashes or nothing at all quoted")
    func text() {
        #expect(encoded(tokenRead, .text) == "2026-11-28T10:00:00.007Z debug [ecd] request api_key=billing bytes=182 "
            + "client=127.0.0.1 duration_ms=0.12 listener=internal method=GET request_id=r-1 "
            + "route=/v1/accounts/{email}/token status=200\n")
        #expect(encoded(odd, .text) == #"2026-11-28T10:00:00.007Z warning [ecd] request api_key="" bytes=0 "#
            + #"client=2001:db8::1 duration_ms=1234.5 listener=public method=- proto=https request_id="a\"b\\c=d" "#
            + #"route=unmatched status=503 traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"# + "\n")
    }

    @Test("the same bytes as the log handler writes for the same fields as metadata", arguments: [
        (LogFormat.json, 0), (.json, 1), (.text, 0), (.text, 1),
    ])
    func sameAsHandler(format: LogFormat, which: Int) {
        let line = which == 0 ? tokenRead : odd
        let event = LogEvent(level: line.level, message: "request", metadata: line.metadata, source: nil,
                             file: #fileID, function: #function, line: #line)
        let timestamp = LogTimestamp.format(seconds: seconds, milliseconds: milliseconds)
        let handler = format == .json
            ? ECDLogHandler.jsonLine(event: event, label: "ecd", metadata: line.metadata, timestamp: timestamp)
            : ECDLogHandler.textLine(event: event, label: "ecd", metadata: line.metadata, timestamp: timestamp)
        #expect(encoded(line, format) == handler)
    }

    @Test("durations: hundredths of a millisecond, rounded half up, written as Swift writes the Double")
    func durations() {
        #expect(AccessLogLine.hundredths(.microseconds(12_345)) == 1235)
        #expect(AccessLogLine.hundredths(.microseconds(12_344)) == 1234)
        #expect(AccessLogLine.hundredths(.nanoseconds(4_999)) == 0)
        #expect(AccessLogLine.hundredths(.seconds(2)) == 200_000)
        #expect(AccessLogLine.hundredths(.seconds(-1)) == 0)
        for hundredths in [0, 1, 5, 10, 50, 99, 100, 101, 110, 1234, 123_450, 987_654_321] {
            var out: [UInt8] = []
            AccessLogLine.appendDuration(hundredths, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == (Double(hundredths) / 100).description)
        }
    }

    @Test("through the response hook: ecd's handler gets the bytes directly; below its level, no line")
    func recorded() throws {
        var context = RequestContext(requestID: "req-9", peerAddress: "10.0.0.7", listenerName: "internal")
        context.settleRoute(RouteMatch(pattern: "/v1/accounts/{email}/token", parameters: ["email": "a@b.com"],
                                       routeIndex: 0, failure: nil))
        context.principal = "#1"
        let request = HTTPRequest.make(.get, "/v1/accounts/a%40b.com/token")
        let ok = HTTPResponse(status: .ok, body: Array("{}".utf8))

        let debug = LogCapture()
        AccessLog(logger: ECDLogging.logger(label: "ecd", settings: LogSettings(level: .debug, format: .json), sink: debug.sink),
                  listener: "internal", clientResolver: nil).record(request, ok, context, .microseconds(250))
        let line = try #require(debug.lines.first)
        #expect(debug.lines.count == 1)
        // The path (with its email) is never written; the timestamp is the clock's.
        #expect(line.prefix(33).wholeMatch(of: /\{"ts":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z",/) != nil)
        #expect(line.dropFirst(33) == ##""level":"debug","msg":"request","label":"ecd","api_key":"#1","bytes":2,"##
            + #""client":"10.0.0.7","duration_ms":0.25,"listener":"internal","method":"GET","request_id":"req-9","#
            + #""route":"/v1/accounts/{email}/token","status":200}"#)

        let quiet = LogCapture()
        let warning = AccessLog(logger: ECDLogging.logger(label: "ecd", settings: LogSettings(level: .warning, format: .json), sink: quiet.sink),
                                listener: "internal", clientResolver: nil)
        warning.record(request, ok, context, .microseconds(250))
        #expect(quiet.lines.isEmpty)
        warning.record(request, HTTPResponse(status: .internalServerError), context, .microseconds(250))
        #expect(quiet.lines.count == 1 && quiet.lines[0].contains(#""level":"warning""#))
    }
}

@Suite("Background log sink")
struct BackgroundLogSinkTests {
    /// What the sink's thread wrote, and a gate that holds the thread inside its first write.
    final class Target: Sendable {
        let written = Locked<[UInt8]>([])
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        let holdFirst: Bool
        private let calls = Locked(0)
        init(holdFirst: Bool) { self.holdFirst = holdFirst }

        func write(_ bytes: UnsafeRawBufferPointer) {
            let first = calls.withLock { $0 += 1; return $0 == 1 }
            if first && holdFirst {
                entered.signal()
                gate.wait()
            }
            written.withLock { $0.append(contentsOf: bytes) }
        }
        var text: String { String(decoding: written.withLock { $0 }, as: UTF8.self) }
    }

    func line(_ text: String, size: Int) -> [UInt8] {
        Array((text + String(repeating: ".", count: size - text.utf8.count - 1) + "\n").utf8)
    }

    @Test("a full queue drops and counts lines instead of blocking the writer of the line")
    func dropsWhenFull() {
        let target = Target(holdFirst: true)
        let sink = LogSink.background(capacity: 100) { target.write($0) }
        defer { sink.close() }
        let totalBefore = LogSink.droppedLinesTotal
        let first = line("first", size: 60), second = line("second", size: 60), third = line("third", size: 30)
        sink.write(first)
        target.entered.wait()            // the sink's thread holds `first` and is stuck writing it
        sink.write(second)               // 60 of 100 bytes queued
        sink.write(line("dropped", size: 60))  // would make 120: dropped, and this call returned
        sink.write(third)                // 90: fits
        #expect(sink.droppedLines == 1)
        #expect(LogSink.droppedLinesTotal - totalBefore >= 1)
        #expect(ECDMetrics.render().contains("\n\(ECDMetrics.Name.logLinesDropped) "))
        target.gate.signal()
        sink.flush()
        #expect(target.text == String(decoding: first + second + third, as: UTF8.self))
        #expect(sink.droppedLines == 1)
    }

    @Test("flush waits until every queued line is written, in order, from every thread")
    func flushWritesEverything() async {
        let target = Target(holdFirst: false)
        let sink = LogSink.background { target.write($0) }
        defer { sink.close() }
        let logger = ECDLogging.logger(label: "c", settings: LogSettings(), sink: sink)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask { for index in 0..<100 { logger.info("line", metadata: ["w": "\(worker)", "i": "\(index)"]) } }
            }
        }
        sink.flush()
        let lines = target.text.split(separator: "\n")
        #expect(lines.count == 400)
        #expect(sink.droppedLines == 0)
        for worker in 0..<4 {
            let indices = lines.filter { $0.contains(#""w":"\#(worker)""#) }.map { line -> Int in
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return Int(object?["i"] as? String ?? "") ?? -1
            }
            #expect(indices == Array(0..<100))
        }
    }

    @Test("flush gives up on a blocked descriptor at its deadline, dropping and counting what is queued")
    func flushIsBounded() {
        let target = Target(holdFirst: true)
        let notes = Locked<[String]>([])
        let sink = LogSink.background(note: { text in notes.withLock { $0.append(text) } }) { target.write($0) }
        defer { sink.close() }
        sink.write(line("first", size: 20))
        target.entered.wait()  // the sink's thread is stuck writing `first`
        sink.write(line("second", size: 20))
        sink.write(line("third", size: 20))
        let totalBefore = LogSink.droppedLinesTotal
        // On a thread of its own, so that a flush that never returns fails this test, not hangs it.
        let returned = DispatchSemaphore(value: 0)
        Thread { sink.flush(within: .milliseconds(20)); returned.signal() }.start()
        let flushReturned = returned.wait(timeout: .now() + 60) == .success
        #expect(flushReturned, "flush waited on the blocked descriptor")
        #expect(sink.droppedLines == 2)
        #expect(LogSink.droppedLinesTotal - totalBefore >= 2)
        #expect(notes.withLock { $0 }.count == 1)
        #expect(notes.withLock { $0 }.first?.contains("2 log lines dropped") == true)
        target.gate.signal()
        if !flushReturned { returned.wait() }
        sink.flush()
        // `first` was in the writer's hands: it is written once the descriptor takes it.
        #expect(target.text == String(decoding: line("first", size: 20), as: UTF8.self))
    }

    @Test("after close, lines are dropped, not written")
    func closed() {
        let target = Target(holdFirst: false)
        let sink = LogSink.background { target.write($0) }
        sink.write(line("before", size: 20))
        sink.close()
        sink.write(line("after", size: 20))
        sink.flush()
        #expect(target.text == String(decoding: line("before", size: 20), as: UTF8.self))
        #expect(sink.droppedLines == 1)
    }
}
