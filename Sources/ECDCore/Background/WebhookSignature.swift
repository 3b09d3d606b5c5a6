import ECDCrypto
import FoundationEssentials
import ECDText

/// The `ECD-Signature` header of a webhook delivery, Stripe's scheme: `t=<unix seconds>` and a
/// `v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` per secret. The timestamp is inside the MAC, so a
/// receiver that refuses old timestamps refuses a replayed delivery.
public enum WebhookSignature {
    public static func header(secrets: [[UInt8]], body: [UInt8], timestamp: Int64) -> String {
        var parts = ["t=\(timestamp)"]
        for secret in secrets {
            parts.append("v1=" + EventFeed.hex(mac(secret: secret, body: body, timestamp: timestamp)))
        }
        return parts.joined(separator: ",")
    }

    public static func mac(secret: [UInt8], body: [UInt8], timestamp: Int64) -> [UInt8] {
        HMACSHA256.mac(key: secret, message: Array("\(timestamp).".utf8) + body)
    }

    /// What a receiver does (README "Webhooks"): some `v1=` matches one of `secrets` and `t` is
    /// within `tolerance` seconds of `now`. Used by the tests as a receiver would.
    public static func verify(header: String, body: [UInt8], secrets: [[UInt8]], now: Int64, tolerance: Int64 = 300) -> Bool {
        var timestamp: Int64?
        var macs: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1", let bytes = hexBytes(pair[1]) { macs.append(bytes) }
        }
        guard let timestamp, abs(now - timestamp) <= tolerance else { return false }
        let expected = secrets.map { mac(secret: $0, body: body, timestamp: timestamp) }
        return macs.contains { candidate in expected.contains { ConstantTime.equals($0, candidate) } }
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x61...0x66: digit - 0x61 + 10
        case 0x41...0x46: digit - 0x41 + 10
        default: nil
        }
    }
}
