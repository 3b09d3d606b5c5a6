/// Email addresses as the daemon accepts and compares them: trimmed, checked for a plausible
/// `local@domain.tld` shape, compared case-insensitively through `key`.
public enum Email {
    /// Why an address was refused, for a 422 message.
    public static func problem(_ raw: String) -> String? {
        let email = raw.trimmingWhitespace()
        if email.isEmpty { return "an email address is required" }
        if email.utf8.count > 254 { return "an email address is at most 254 characters" }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return "an email address has exactly one @" }
        let local = parts[0], domain = parts[1]
        if local.isEmpty || local.utf8.count > 64 { return "the part before @ must be 1 to 64 characters" }
        if local.hasPrefix(".") || local.hasSuffix(".") || local.contains("..") {
            return "the part before @ has a misplaced dot"
        }
        let localAllowed = "!#$%&'*+/=?^_`{|}~.-"
        for scalar in local.unicodeScalars {
            let ok = scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || localAllowed.unicodeScalars.contains(scalar)
                || scalar.value > 0x7F
            if !ok { return "the part before @ contains a character not allowed in an email address" }
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count < 2 { return "the domain needs at least one dot" }
        for label in labels {
            if label.isEmpty || label.utf8.count > 63 { return "the domain has an empty or overlong label" }
            if label.hasPrefix("-") || label.hasSuffix("-") { return "a domain label cannot start or end with -" }
            for scalar in label.unicodeScalars {
                let ok = scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar.value > 0x7F
                if !ok { return "the domain contains a character not allowed in a host name" }
            }
        }
        return nil
    }

    public static func isValid(_ raw: String) -> Bool { problem(raw) == nil }

    /// The address as stored and shown: trimmed, the domain lower-cased.
    public static func normalized(_ raw: String) -> String {
        let email = raw.trimmingWhitespace()
        guard let at = email.lastIndex(of: "@") else { return email }
        return String(email[..<at]) + "@" + email[email.index(after: at)...].lowercased()
    }

    /// The comparison key: the whole address lower-cased (api-contract.md §4: emails compare case-insensitively).
    public static func key(_ raw: String) -> String {
        // The token route calls this per request: an address that is already a key (ASCII, no
        // upper case, no surrounding space — the usual case) is returned without allocating.
        var clean = true
        for byte in raw.utf8 where byte >= 0x80 || (byte >= 0x41 && byte <= 0x5A) || byte <= 0x20 {
            clean = false
            break
        }
        return clean ? raw : raw.trimmingWhitespace().lowercased()
    }

    /// The part after the last `@`, lower-cased.
    public static func domain(_ raw: String) -> String? {
        let email = raw.trimmingWhitespace()
        guard let at = email.lastIndex(of: "@") else { return nil }
        return email[email.index(after: at)...].lowercased()
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
