/// Random identifiers in the shapes the Cronofy reference documents. `SystemRandomNumberGenerator`
/// reads the kernel's CSPRNG (getrandom on Linux), so simulator tokens are unguessable too, which
/// matters when a test greps logs and database files for them: a collision would be noise.
enum Identifiers {
    private static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// 32 ASCII alphanumerics: codes are "always a 32-character ASCII string"; tokens in the
    /// examples have the same shape.
    static func token() -> String { random(32, from: alphanumerics) }

    /// `ser_` + 24 hex digits.
    static func serviceAccountID() -> String { "ser_" + random(24, from: hexDigits) }

    /// `acc_` + 24 hex digits (28 ASCII characters, as the account identity page documents).
    static func accountID() -> String { "acc_" + random(24, from: hexDigits) }

    /// `pro_` + 10 lowercase alphanumerics, like `pro_n23kjnwrw2`.
    static func profileID() -> String {
        "pro_" + random(10, from: Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8))
    }

    /// An opaque id for a pending approval page.
    static func approvalID() -> String { random(24, from: alphanumerics) }

    private static func random(_ count: Int, from alphabet: [UInt8]) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for _ in 0..<count { bytes.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
