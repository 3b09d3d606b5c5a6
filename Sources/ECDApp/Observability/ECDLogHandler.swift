import ECDHTTP
import Logging

/// swift-log handler for ecd: one JSON object per line (`{"ts","level","msg","label",…metadata}`)
/// or a human-readable text line, on standard error by default.
///
/// Secrets stay out by construction elsewhere (messages are constants, values go in metadata, and
/// callers redact URLs with ``SecretRedaction``); this handler only renders.
public struct ECDLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    public let label: String
    public let format: LogFormat
    let sink: LogSink

    /// Keys of the line itself; a metadata key spelled the same is written as `meta.<key>`.
    static let reservedKeys: Set<String> = ["ts", "level", "msg", "label"]

    public init(
        label: String, level: Logger.Level = .info, format: LogFormat = .json,
        sink: LogSink = .standardError, metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadataProvider?.get() ?? [:]
        merged.merge(metadata) { _, handler in handler }
        if let eventMetadata = event.metadata { merged.merge(eventMetadata) { _, call in call } }
        let line = switch format {
        case .json: Self.jsonLine(event: event, label: label, metadata: merged, timestamp: LogTimestamp.now())
        case .text: Self.textLine(event: event, label: label, metadata: merged, timestamp: LogTimestamp.now())
        }
        sink.write(Array(line.utf8))
    }

    static func jsonLine(event: LogEvent, label: String, metadata: Logger.Metadata, timestamp: String) -> String {
        var line = "{\"ts\":\"\(timestamp)\",\"level\":\"\(event.level.rawValue)\",\"msg\":"
        line += JSONString.quote(event.message.description)
        line += ",\"label\":" + JSONString.quote(label)
        for key in metadata.keys.sorted() {
            let name = reservedKeys.contains(key) ? "meta.\(key)" : key
            line += "," + JSONString.quote(name) + ":" + json(metadata[key]!)
        }
        return line + "}\n"
    }

    static func textLine(event: LogEvent, label: String, metadata: Logger.Metadata, timestamp: String) -> String {
        var line = "\(timestamp) \(event.level.rawValue) [\(label)] \(event.message.description)"
        for key in metadata.keys.sorted() {
            line += " \(key)=\(text(metadata[key]!))"
        }
        return line + "\n"
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): JSONString.quote(string)
        case .stringConvertible(let convertible): jsonScalar(convertible)
        case .array(let items): "[" + items.map(json).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{" + dictionary.keys.sorted().map { JSONString.quote($0) + ":" + json(dictionary[$0]!) }
                .joined(separator: ",") + "}"
        }
    }

    /// Numbers and booleans keep their JSON type (`"status":200`, not `"status":"200"`), so a log
    /// query can compare them; anything else is its description as a string. The common concrete
    /// types are tried first: a cast to a protocol existential costs more.
    private static func jsonScalar(_ value: any CustomStringConvertible & Sendable) -> String {
        switch value {
        case let number as Int: return String(number)
        case let flag as Bool: return flag ? "true" : "false"
        case let number as Double: return number.isFinite ? number.description : JSONString.quote(number.description)
        case let number as any BinaryInteger: return number.description
        case let number as Float: return number.isFinite ? number.description : JSONString.quote(number.description)
        default: return JSONString.quote(value.description)
        }
    }

    /// Plain when unambiguous, JSON-quoted when the value holds spaces, quotes or control characters.
    private static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): quoteIfNeeded(string)
        case .stringConvertible(let convertible): quoteIfNeeded(convertible.description)
        case .array, .dictionary: json(value)
        }
    }

    private static func quoteIfNeeded(_ string: String) -> String {
        let plain = !string.isEmpty && string.unicodeScalars.allSatisfy {
            $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0 != "\\" && $0.value != 0x7F
        }
        return plain ? string : JSONString.quote(string)
    }
}
