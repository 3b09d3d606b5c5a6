import ECDHTTP

/// Who a request really came from. `X-Forwarded-For` and `X-Forwarded-Proto` are believed only
/// when the socket peer is one of `public.trusted_proxies`; otherwise anyone could claim any address.
struct ClientAddressResolver: Sendable {
    let trustedProxies: TrustedProxies

    struct Client: Sendable, Equatable {
        var address: String
        /// `https`/`http` as a trusted proxy reports it, or nil.
        var forwardedProto: String?
    }

    func resolve(peer: String?, headers: HTTPHeaders) -> Client {
        guard let peer else { return Client(address: "unix", forwardedProto: nil) }
        guard trustedProxies.contains(address: peer) else { return Client(address: peer, forwardedProto: nil) }
        // Walk the chain from the nearest hop: the first address that is not one of our own
        // proxies is the client; every hop nearer than it was appended by a proxy we trust.
        // A hop that is not an IP literal ends the walk (it cannot be checked, so not believed).
        let chain = headers.values(for: "X-Forwarded-For")
            .flatMap { $0.split(separator: ",") }
            .map { String($0).trimmingASCIIWhitespace() }
        var client = peer
        for hop in chain.reversed() {
            var address = hop
            if address.hasPrefix("[") && address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
            guard IPAddressBytes.parse(address) != nil else { break }
            client = address
            if !trustedProxies.contains(address: address) { break }
        }
        let proto = headers["X-Forwarded-Proto"]?.split(separator: ",").first
            .map { String($0).trimmingASCIIWhitespace().lowercased() }
        return Client(address: client, forwardedProto: proto == "https" || proto == "http" ? proto : nil)
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
