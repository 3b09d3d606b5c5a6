import ECDCOpenSSL

/// The client side of TLS: TLS 1.2 or later, the peer's chain verified against the system's
/// trust store (`SSL_CTX_set_default_verify_paths`) or against exactly one CA file, never neither.
/// A configured SSL_CTX may be shared by connections on any thread.
final class TLSContext: @unchecked Sendable {
    // @unchecked: configured in init, only read afterwards (OpenSSL allows sharing it).
    let context: OpaquePointer

    /// nil when the trust cannot be loaded (a CA file that does not parse): no https then, rather
    /// than a silent fallback to another trust.
    init?(caFile: String?) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { return nil }
        let trusted = caFile.map { SSL_CTX_load_verify_locations(context, $0, nil) == 1 }
            ?? (SSL_CTX_set_default_verify_paths(context) == 1)
        guard trusted, ecd_openssl_require_tls12(context) == 1 else {
            SSL_CTX_free(context)
            return nil
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        self.context = context
    }

    deinit { SSL_CTX_free(context) }

    /// The system's trust, loaded once on the first https exchange of any client: the CA bundle
    /// parsed into an X509_STORE is about 1.4 MB of memory (measured on the idle daemon, which
    /// loaded it once per client when every client loaded its own at init), and a daemon whose
    /// Cronofy is plain http (the simulator, tests) never needs it.
    static let system = TLSContext(caFile: nil)
}
