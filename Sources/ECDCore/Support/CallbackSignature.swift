import ECDCrypto

/// `Cronofy-HMAC-SHA256`: Base64(HMAC-SHA256(key: client secret, message: raw body)). The header
/// may hold several comma-separated values (one per active client secret); any one may match.
public enum CallbackSignature {
    public static func expected(body: [UInt8], secret: String) -> String {
        Base64.encode(HMACSHA256.mac(key: Array(secret.utf8), message: body))
    }

    /// Every value is compared in constant time (no early exit on the first match either), so the
    /// timing says nothing about which value, or how much of it, was right.
    public static func isValid(header: String, body: [UInt8], secret: String) -> Bool {
        let expected = HMACSHA256.mac(key: Array(secret.utf8), message: body)
        var matched = false
        for part in header.split(separator: ",", omittingEmptySubsequences: false) {
            let value = String(part).trimmingWhitespace()
            guard let decoded = Base64.decode(value) else { continue }
            if ConstantTime.equals(decoded, expected) { matched = true }
        }
        return matched
    }
}
