import ECDHTTP

extension ListenAddress {
    /// Whether binding both would fail: the same unix path, or the same (non-zero) port on the same
    /// address, on a wildcard address that covers the other (`::` covers every address, `0.0.0.0`
    /// every IPv4 one), or on `localhost` and the loopback address it names.
    func overlaps(_ other: ListenAddress) -> Bool {
        switch (self, other) {
        case (.unix(let a), .unix(let b)):
            return a == b
        case (.tcp(let hostA, let portA), .tcp(let hostB, let portB)):
            guard portA == portB, portA != 0 else { return false }
            let a = Host(hostA), b = Host(hostB)
            return a == b || a.covers(b) || b.covers(a)
        default:
            return false
        }
    }

    private enum Host: Equatable {
        case localhost
        case address([UInt8])
        case other(String)

        init(_ text: String) {
            if text == "localhost" {
                self = .localhost
            } else if let bytes = IPAddressBytes.parse(text) {
                self = .address(bytes)
            } else {
                self = .other(text)
            }
        }

        static let loopbackV4: [UInt8] = [127, 0, 0, 1]
        static let loopbackV6: [UInt8] = [UInt8](repeating: 0, count: 15) + [1]

        func covers(_ other: Host) -> Bool {
            switch self {
            case .address(let bytes) where bytes == [UInt8](repeating: 0, count: 16):
                return true  // `::` is dual-stack: it takes the port on IPv4 too
            case .address(let bytes) where bytes == [0, 0, 0, 0]:
                if case .address(let otherBytes) = other { return otherBytes.count == 4 }
                return other == .localhost
            case .localhost:
                return other == .address(Self.loopbackV4) || other == .address(Self.loopbackV6)
            default:
                return false
            }
        }
    }
}
