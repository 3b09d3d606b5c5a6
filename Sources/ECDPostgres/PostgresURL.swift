import ECDCLibPQ
import FoundationEssentials
import ECDText

/// A PostgreSQL connection URI checked by libpq's own parser (`PQconninfoParse`), so what this
/// accepts is exactly what a pool will connect with. It keeps the parts an operator may be shown
/// (`redacted`: user, host, port, database) and the password only to scrub it from messages.
///
/// Only the URI form (`postgresql://` or `postgres://`) is accepted: a `key=value` string would
/// make a typo in a command-line argument look like a valid, different target.
public struct PostgresURL: Sendable {
    public let url: String
    public let user: String?
    public let host: String?
    public let port: String?
    public let database: String?
    /// The password libpq will send (a `?password=` parameter wins over the userinfo's).
    let password: String?
    /// Every password the text spells, decoded: the userinfo's and each `password=` parameter's.
    /// libpq uses only one, but `scrub` must hide all of them.
    let spelledPasswords: [String]

    /// Why a string is not a usable URL. Never quotes the string: it may hold a password.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notAURI
        case unparsable

        public var description: String {
            switch self {
            case .notAURI: "is not a postgresql:// URL"
            case .unparsable: "is not a valid PostgreSQL URL (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMETERS])"
            }
        }
    }

    public init(parsing url: String) throws(Problem) {
        guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else { throw .notAURI }
        var message: UnsafeMutablePointer<CChar>?
        // libpq's message quotes the offending part of the string: freed unread.
        guard let options = PQconninfoParse(url, &message) else {
            if let message { PQfreemem(message) }
            throw .unparsable
        }
        defer { PQconninfoFree(options) }
        var fields: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { fields[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        self.url = url
        self.user = fields["user"]
        self.host = fields["host"] ?? fields["hostaddr"]
        self.port = fields["port"]
        self.database = fields["dbname"]
        self.password = fields["password"].flatMap { $0.isEmpty ? nil : $0 }
        self.spelledPasswords = Self.passwords(spelledIn: url) + [password].compactMap { $0 }
    }

    /// The userinfo's password (`user:PASSWORD@`) and every `password=` query value, decoded.
    /// The URI grammar libpq follows: the authority ends at the first `/` or `?`, the userinfo
    /// at its last `@`.
    static func passwords(spelledIn url: String) -> [String] {
        guard let scheme = url.firstRange(of: "://") else { return [] }
        let rest = url[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        var found: [String] = []
        if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
            let spelled = String(authority[authority.index(after: colon)..<at])
            found.append(spelled.percentDecoded() ?? spelled)
        }
        if let question = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, parts[0] == "password" else { continue }
                found.append(String(parts[1]).percentDecoded() ?? String(parts[1]))
            }
        }
        return found.filter { !$0.isEmpty }
    }

    /// `postgresql://user@host:port/database`, never the password nor the parameters (which may
    /// name a password file or carry one of their own).
    public var redacted: String {
        var text = "postgresql://"
        if let user { text += user + (spelledPasswords.isEmpty ? "" : ":***") + "@" }
        text += host ?? "localhost"
        if let port { text += ":" + port }
        text += "/" + (database ?? user ?? "")
        return text
    }

    /// `message` with every occurrence of the password (and of the whole URL) replaced: libpq's
    /// connection errors name the host and user only, but nothing from the server is trusted
    /// to stay that way.
    public func scrub(_ message: String) -> String {
        var text = message.replacingAll(url, with: redacted)
        // Longest first, so a password that contains another is not left half shown.
        for password in Set(spelledPasswords).sorted(by: { $0.count > $1.count }) {
            text = text.replacingAll(password, with: "***")
            let encoded = password.percentEncodingAllButASCIIAlphanumerics()
            if encoded != password {
                text = text.replacingAll(encoded, with: "***")
            }
        }
        return text
    }
}

/// Printed, debug-printed or dumped (`"\(url)"`, `String(reflecting:)`, `dump`, a failed test's
/// expectation), a URL shows its redacted form: Swift's default rendering of a struct would show
/// every stored property, the URL and its password among them.
extension PostgresURL: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { redacted }
    public var debugDescription: String { "PostgresURL(\(redacted))" }
    public var customMirror: Mirror { Mirror(self, children: ["redacted": redacted], displayStyle: .struct) }
}
