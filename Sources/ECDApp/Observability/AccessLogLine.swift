import ECDText
import Logging

/// One access-log line (message `request`), written straight into bytes in ``ECDLogHandler``'s
/// formats: the same bytes the handler would write for the same fields as swift-log metadata
/// (keys sorted, numbers as JSON numbers), without the metadata dictionary, the existential
/// values or the intermediate Strings that path builds per line (`AccessLogLineTests` holds the
/// two to each other).
struct AccessLogLine: Sendable {
    var level: Logger.Level
    var requestID: String
    var listener: String
    var method: String
    var route: String
    var status: Int
    /// The duration in hundredths of a millisecond (`duration_ms` has two decimals).
    var durationHundredths: Int
    var bytes: Int
    var client: String
    var proto: String?
    var traceparent: String?
    var apiKey: String?

    /// Hundredths of a millisecond, rounded half up, from integer parts (no floating point).
    static func hundredths(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return Int(seconds) * 100_000 + Int((attoseconds + 5_000_000_000_000) / 10_000_000_000_000)
    }

    /// Enough for a line with a 64-character request id, an IPv6 client and a traceparent.
    static let typicalSize = 512

    /// The line, newline included, appended to `out`.
    func append(format: LogFormat, label: String, seconds: Int, milliseconds: Int, to out: inout [UInt8]) {
        switch format {
        case .json: appendJSON(label: label, seconds: seconds, milliseconds: milliseconds, to: &out)
        case .text: appendText(label: label, seconds: seconds, milliseconds: milliseconds, to: &out)
        }
    }

    private func appendJSON(label: String, seconds: Int, milliseconds: Int, to out: inout [UInt8]) {
        JSONText.append(literal: "{\"ts\":\"", to: &out)
        LogTimestamp.append(seconds: seconds, milliseconds: milliseconds, to: &out)
        JSONText.append(literal: "\",\"level\":\"", to: &out)
        Self.appendLevel(level, to: &out)
        JSONText.append(literal: "\",\"msg\":\"request\",\"label\":", to: &out)
        JSONText.append(string: label, to: &out)
        if let apiKey {
            JSONText.append(literal: ",\"api_key\":", to: &out)
            JSONText.append(string: apiKey, to: &out)
        }
        JSONText.append(literal: ",\"bytes\":", to: &out)
        JSONText.append(integer: bytes, to: &out)
        JSONText.append(literal: ",\"client\":", to: &out)
        JSONText.append(string: client, to: &out)
        JSONText.append(literal: ",\"duration_ms\":", to: &out)
        Self.appendDuration(durationHundredths, to: &out)
        JSONText.append(literal: ",\"listener\":", to: &out)
        JSONText.append(string: listener, to: &out)
        JSONText.append(literal: ",\"method\":", to: &out)
        JSONText.append(string: method, to: &out)
        if let proto {
            JSONText.append(literal: ",\"proto\":", to: &out)
            JSONText.append(string: proto, to: &out)
        }
        JSONText.append(literal: ",\"request_id\":", to: &out)
        JSONText.append(string: requestID, to: &out)
        JSONText.append(literal: ",\"route\":", to: &out)
        JSONText.append(string: route, to: &out)
        JSONText.append(literal: ",\"status\":", to: &out)
        JSONText.append(integer: status, to: &out)
        if let traceparent {
            JSONText.append(literal: ",\"traceparent\":", to: &out)
            JSONText.append(string: traceparent, to: &out)
        }
        JSONText.append(literal: "}\n", to: &out)
    }

    private func appendText(label: String, seconds: Int, milliseconds: Int, to out: inout [UInt8]) {
        LogTimestamp.append(seconds: seconds, milliseconds: milliseconds, to: &out)
        out.append(UInt8(ascii: " "))
        Self.appendLevel(level, to: &out)
        JSONText.append(literal: " [", to: &out)
        out.append(contentsOf: label.utf8)
        JSONText.append(literal: "] request", to: &out)
        if let apiKey { Self.appendText(" api_key=", apiKey, to: &out) }
        JSONText.append(literal: " bytes=", to: &out)
        JSONText.append(integer: bytes, to: &out)
        Self.appendText(" client=", client, to: &out)
        JSONText.append(literal: " duration_ms=", to: &out)
        Self.appendDuration(durationHundredths, to: &out)
        Self.appendText(" listener=", listener, to: &out)
        Self.appendText(" method=", method, to: &out)
        if let proto { Self.appendText(" proto=", proto, to: &out) }
        Self.appendText(" request_id=", requestID, to: &out)
        Self.appendText(" route=", route, to: &out)
        JSONText.append(literal: " status=", to: &out)
        JSONText.append(integer: status, to: &out)
        if let traceparent { Self.appendText(" traceparent=", traceparent, to: &out) }
        out.append(UInt8(ascii: "\n"))
    }

    /// `key=value`, the value plain when unambiguous and JSON-quoted when it is empty or holds
    /// spaces, controls, `"`, `=` or `\` (``ECDLogHandler``'s text rule).
    private static func appendText(_ key: StaticString, _ value: String, to out: inout [UInt8]) {
        JSONText.append(literal: key, to: &out)
        var plain = !value.isEmpty
        for byte in value.utf8 where byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: "\"")
            || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain { out.append(contentsOf: value.utf8) } else { JSONText.append(string: value, to: &out) }
    }

    private static func appendLevel(_ level: Logger.Level, to out: inout [UInt8]) {
        switch level {
        case .trace: JSONText.append(literal: "trace", to: &out)
        case .debug: JSONText.append(literal: "debug", to: &out)
        case .info: JSONText.append(literal: "info", to: &out)
        case .notice: JSONText.append(literal: "notice", to: &out)
        case .warning: JSONText.append(literal: "warning", to: &out)
        case .error: JSONText.append(literal: "error", to: &out)
        case .critical: JSONText.append(literal: "critical", to: &out)
        }
    }

    /// `12.34`, `0.5`, `3.0`: the hundredths as Swift prints the Double `hundredths / 100`
    /// (shortest form, at least one decimal), which is how the metadata path writes it.
    static func appendDuration(_ hundredths: Int, to out: inout [UInt8]) {
        JSONText.append(integer: hundredths / 100, to: &out)
        out.append(UInt8(ascii: "."))
        let fraction = hundredths % 100
        if fraction % 10 == 0 {
            out.append(UInt8(48 + fraction / 10))
        } else {
            out.append(UInt8(48 + fraction / 10))
            out.append(UInt8(48 + fraction % 10))
        }
    }
}
