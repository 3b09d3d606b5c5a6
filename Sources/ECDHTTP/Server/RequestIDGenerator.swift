import FoundationEssentials

/// Cheap unique request ids: a random per-process prefix, the loop's index and a per-loop
/// counter, at most 15 ASCII bytes so the string is stored inline (no allocation).
struct RequestIDGenerator {
    private static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
    private static let processPrefix: [UInt8] = (0..<5).map { _ in alphabet[Int.random(in: 0..<36)] }
    private let prefix: [UInt8]
    private var counter: UInt64 = 0

    /// The longest incoming `X-Request-Id` kept; a longer one is replaced.
    static let maximumIncomingLength = 64

    /// An incoming `X-Request-Id` ecd keeps: 1 to 64 visible ASCII characters (no space, no
    /// control character), so it is safe to echo in a header and to write in a log line.
    static func isAcceptable(_ id: String) -> Bool {
        let bytes = id.utf8
        guard !bytes.isEmpty, bytes.count <= maximumIncomingLength else { return false }
        return bytes.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }

    init(loopIndex: Int) {
        prefix = RequestIDGenerator.processPrefix + [RequestIDGenerator.alphabet[loopIndex % 36]]
    }

    mutating func next() -> String {
        counter &+= 1
        var n = counter
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &digits) { d in
            var count = 0
            repeat {
                d[count] = RequestIDGenerator.alphabet[Int(n % 36)]
                n /= 36
                count += 1
            } while n > 0 && count < 9
            return String(unsafeUninitializedCapacity: prefix.count + count) { out in
                for (i, c) in prefix.enumerated() { out[i] = c }
                for i in 0..<count { out[prefix.count + i] = d[count - 1 - i] }
                return prefix.count + count
            }
        }
    }
}
