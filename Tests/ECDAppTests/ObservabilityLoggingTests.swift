import Foundation
import Logging
import Testing
@testable import ECDApp

@Suite("Log handler")
struct ObservabilityLoggingTests {
    func parse(_ line: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(object as? [String: Any])
    }

    @Test("JSON lines carry ts, level, msg, label and the merged metadata")
    func jsonLines() throws {
        let capture = LogCapture()
        var logger = ECDLogging.logger(label: "ecd.test", settings: LogSettings(level: .debug, format: .json), sink: capture.sink)
        logger[metadataKey: "listener"] = "public"
        logger.info("request served", metadata: [
            "status": "200", "count": .stringConvertible(3), "tags": ["a", "b"], "nested": ["k": "v"],
            "msg": "clash", "quote": "a \"b\"\n\tc", "ok": .stringConvertible(true), "ms": .stringConvertible(0.25),
            "id": .stringConvertible(Int64(1) << 40), "nan": .stringConvertible(Double.nan),
            "version": .stringConvertible(ECDVersion.current),
        ])
        logger.debug("second")
        let lines = capture.lines
        #expect(lines.count == 2)
        let first = try parse(lines[0])
        #expect(first["msg"] as? String == "request served")
        #expect(first["level"] as? String == "info")
        #expect(first["label"] as? String == "ecd.test")
        #expect(first["listener"] as? String == "public")
        #expect(first["status"] as? String == "200")
        // A number or boolean keeps its JSON type; text given as a string stays a string.
        #expect(first["count"] as? Int == 3)
        #expect(first["count"] as? String == nil)
        #expect(lines[0].contains(#""count":3,"#) && lines[0].contains(#""ok":true"#) && lines[0].contains(#""ms":0.25"#))
        #expect(first["id"] as? Int == 1 << 40)
        #expect(first["nan"] as? String == "nan")
        #expect(first["version"] as? String == ECDVersion.current)
        #expect(first["tags"] as? [String] == ["a", "b"])
        #expect((first["nested"] as? [String: String]) == ["k": "v"])
        #expect(first["meta.msg"] as? String == "clash")
        #expect(first["quote"] as? String == "a \"b\"\n\tc")
        let timestamp = try #require(first["ts"] as? String)
        #expect(timestamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil)
        #expect(try parse(lines[1])["level"] as? String == "debug")
        #expect(!lines[0].contains("\n"))
    }

    @Test("messages below the configured level are dropped")
    func levelFiltering() {
        let capture = LogCapture()
        let logger = ECDLogging.logger(label: "x", settings: LogSettings(level: .warning, format: .json), sink: capture.sink)
        logger.debug("no")
        logger.info("no")
        logger.notice("no")
        logger.warning("yes")
        logger.error("yes")
        logger.critical("yes")
        #expect(capture.lines.count == 3)
        #expect(capture.lines.allSatisfy { $0.contains("\"msg\":\"yes\"") })
    }

    @Test("text lines are readable and quote values with spaces")
    func textLines() {
        let capture = LogCapture()
        let logger = ECDLogging.logger(label: "ecd", settings: LogSettings(level: .info, format: .text), sink: capture.sink)
        logger.error("exchange failed", metadata: ["email": "a@b.com", "reason": "two words"])
        let line = try! #require(capture.lines.first)
        #expect(line.hasSuffix(#" error [ecd] exchange failed email=a@b.com reason="two words""#))
    }

    @Test("timestamps are UTC ISO 8601 with milliseconds")
    func timestamp() {
        #expect(LogTimestamp.format(seconds: 1_795_860_000, milliseconds: 7) == "2026-11-28T10:00:00.007Z")
        #expect(LogTimestamp.format(seconds: 0, milliseconds: 999) == "1970-01-01T00:00:00.999Z")
    }

    @Test("concurrent writers never interleave lines")
    func concurrentLines() async {
        let capture = LogCapture()
        let logger = ECDLogging.logger(label: "c", settings: LogSettings(), sink: capture.sink)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask { for index in 0..<50 { logger.info("line", metadata: ["w": "\(worker)", "i": "\(index)"]) } }
            }
        }
        #expect(capture.lines.count == 400)
        #expect(capture.lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }
}

@Suite("Secret redaction in URLs")
struct ObservabilityRedactionTests {
    @Test("secret parameter values are replaced, others kept", arguments: [
        ("/oauth/callback?code=abc123&state=st9", "/oauth/callback?code=<redacted>&state=<redacted>"),
        ("/oauth/callback?error=access_denied&state=s", "/oauth/callback?error=access_denied&state=<redacted>"),
        ("https://h.example.com/x?token=t&access_token=a&refresh_token=r&client_secret=c&keep=1",
         "https://h.example.com/x?token=<redacted>&access_token=<redacted>&refresh_token=<redacted>&client_secret=<redacted>&keep=1"),
        ("/p?CODE=x&%63ode=y&codes=z", "/p?CODE=<redacted>&%63ode=<redacted>&codes=z"),
        ("/p?code", "/p?code"),
        ("/p?a=1&&code=", "/p?a=1&&code=<redacted>"),
        ("https://u:pw@h.example.com/p", "https://<redacted>@h.example.com/p"),
        ("https://h.example.com/cb#access_token=x&x=1", "https://h.example.com/cb#access_token=<redacted>&x=1"),
        ("/v1/accounts/a%40b.com/token?min_validity=60", "/v1/accounts/a%40b.com/token?min_validity=60"),
    ])
    func redactURL(_ input: String, _ expected: String) {
        #expect(SecretRedaction.redactURL(input) == expected)
    }

    @Test("access-log targets also hide path capabilities")
    func redactTarget() {
        #expect(SecretRedaction.redactRequestTarget("/connect/LinkTok3n") == "/connect/<redacted>")
        #expect(SecretRedaction.redactRequestTarget("/callbacks/delegated/req_77?x=1") == "/callbacks/delegated/<redacted>?x=1")
        #expect(SecretRedaction.redactRequestTarget("/connect/") == "/connect/")
        #expect(SecretRedaction.redactRequestTarget("/oauth/callback?code=c") == "/oauth/callback?code=<redacted>")
        #expect(SecretRedaction.redactRequestTarget("/healthz") == "/healthz")
    }
}
