import Foundation

/// Cheap unique request ids: a random per-process prefix, the loop's index and a per-loop
/// counter, at most 15 ASCII bytes so the string is stored inline (no allocation).
struct RequestIDGenerator {
    private static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
    private static let processPrefix: [UInt8] = (0..<5).map { _ in alphabet[Int.random(in: 0..<36)] }
    private let prefix: [UInt8]
    private var counter: UInt64 = 0

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
