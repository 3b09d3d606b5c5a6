import FoundationEssentials
import ECDText

/// A Cronofy data center. Each one is a separate environment: tokens and codes from one are only
/// valid on that data center's hosts, so the identifier must match the application's.
public enum DataCenter: String, Sendable, CaseIterable {
    case us, uk, de, au, ca, sg

    /// Parses the SDK identifier shown on the Cronofy dashboard, case-insensitively; an empty
    /// string means `us`, as in the official SDKs.
    public init?(identifier: String) {
        let trimmed = identifier.trimmingSpaces().lowercased()
        self.init(rawValue: trimmed.isEmpty ? "us" : trimmed)
    }

    /// `https://api.cronofy.com` for `us`, `https://api-<id>.cronofy.com` otherwise.
    public var apiURL: URL { host(role: "api") }

    /// `https://app.cronofy.com` for `us`, `https://app-<id>.cronofy.com` otherwise (browser pages).
    public var appURL: URL { host(role: "app") }

    private func host(role: String) -> URL {
        let suffix = self == .us ? "" : "-\(rawValue)"
        // The string is built from a fixed alphabet, so it is always a valid URL.
        return URL(string: "https://\(role)\(suffix).cronofy.com")!
    }
}

/// Joins endpoint paths onto base URLs that may carry a path prefix (e.g. a simulator mounted at
/// `http://127.0.0.1:9000/cronofy/`), with or without a trailing slash. `URL.appendingPathComponent`
/// would percent-encode the `?` of a query and drop prefixes on some platforms, so it is done by hand.
enum URLJoin {
    /// `path` must start with "/" and be already percent-encoded.
    static func join(_ base: URL, _ path: String, percentEncodedQuery: String? = nil) -> URL {
        guard var components = URLComponents(url: base, resolvingAgainstBaseURL: false) else {
            preconditionFailure("base URL cannot be decomposed")
        }
        var prefix = components.percentEncodedPath
        while prefix.hasSuffix("/") { prefix.removeLast() }
        components.percentEncodedPath = prefix + path
        components.percentEncodedQuery = percentEncodedQuery
        components.fragment = nil
        guard let url = components.url else { preconditionFailure("joined URL is invalid") }
        return url
    }
}

/// RFC 3986 percent-encoding of a query value: everything but the unreserved characters
/// `A-Z a-z 0-9 - . _ ~` is encoded (so a space is `%20`, never `+`, and `/` is `%2F`).
enum PercentEncoding {
    static func encode(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }

    private static let hex = Array("0123456789ABCDEF".unicodeScalars)

    static func query(_ items: [(String, String)]) -> String {
        items.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }
}
