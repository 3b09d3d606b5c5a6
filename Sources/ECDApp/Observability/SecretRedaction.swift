import Foundation

/// Removes secrets from URLs and request targets before they reach a log line (api-contract.md §6:
/// "Callback URLs and query strings that carry codes are logged without them").
///
/// Values of secret query (and fragment) parameters become `<redacted>`, names stay so the log
/// still says *that* a code came; the password of `user:password@` goes too. The access log should
/// use ``redactRequestTarget(_:)``, which also hides the capability tokens that live in paths.
public enum SecretRedaction {
    public static let marker = "<redacted>"

    /// Parameter names (compared case-insensitively, after percent-decoding) whose values are secret.
    public static let secretParameters: Set<String> = [
        "code", "state", "token", "access_token", "refresh_token", "client_secret",
        "id_token", "api_key", "password",
    ]

    /// Path prefixes whose next segment is a bearer capability: the one-time connect link and the
    /// secret per-request callback path. Knowing either is enough to act, so they are not logged.
    public static let secretPathPrefixes = ["/connect/", "/callbacks/delegated/"]

    /// An absolute URL or a request target with secret parameter values and user info replaced.
    public static func redactURL(_ url: String) -> String {
        var rest = Substring(url)
        var prefix = ""
        if let schemeEnd = rest.range(of: "://") {
            let authorityStart = schemeEnd.upperBound
            let authorityEnd = rest[authorityStart...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            var authority = rest[authorityStart..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                authority = Substring(marker) + authority[at...]
            }
            prefix = String(rest[..<authorityStart]) + authority
            rest = rest[authorityEnd...]
        }
        var fragment: Substring?
        if let hash = rest.firstIndex(of: "#") {
            fragment = rest[rest.index(after: hash)...]
            rest = rest[..<hash]
        }
        var output = prefix
        if let question = rest.firstIndex(of: "?") {
            output += rest[..<question] + "?" + redactParameters(rest[rest.index(after: question)...])
        } else {
            output += rest
        }
        if let fragment { output += "#" + redactParameters(fragment) }
        return output
    }

    /// A request target (`/oauth/callback?code=…`) for the access log: ``redactURL(_:)`` plus the
    /// path capabilities of ``secretPathPrefixes`` (`/connect/<redacted>`).
    public static func redactRequestTarget(_ target: String) -> String {
        let redacted = redactURL(target)
        for prefix in secretPathPrefixes where redacted.hasPrefix(prefix) {
            let afterPrefix = redacted.dropFirst(prefix.count)
            let segmentEnd = afterPrefix.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterPrefix.endIndex
            if segmentEnd == afterPrefix.startIndex { return redacted }
            return prefix + marker + afterPrefix[segmentEnd...]
        }
        return redacted
    }

    /// `a=1&code=xyz` → `a=1&code=<redacted>`. Separators and order are kept.
    public static func redactParameters(_ query: Substring) -> String {
        var output = ""
        output.reserveCapacity(query.utf8.count)
        var first = true
        for pair in query.split(separator: "&", omittingEmptySubsequences: false) {
            if !first { output += "&" }
            first = false
            guard let equals = pair.firstIndex(of: "=") else {
                output += pair
                continue
            }
            let name = pair[..<equals]
            if isSecret(name) {
                output += name + "=" + marker
            } else {
                output += pair
            }
        }
        return output
    }

    private static func isSecret(_ name: Substring) -> Bool {
        let decoded = (name.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(name)).lowercased()
        return secretParameters.contains(decoded)
    }
}
