#if canImport(Glibc)
import Glibc
#endif

/// A detached thread for one blocking exchange, with SIGPIPE blocked on it: a write into a
/// connection the peer closed (plain `send` has MSG_NOSIGNAL, but `SSL_write` cannot pass it)
/// must fail with EPIPE rather than kill the process. A SIGPIPE raised for this thread stays
/// pending on it and is discarded when it exits.
enum ExchangeThread {
    private final class Box { let body: () -> Void; init(_ body: @escaping () -> Void) { self.body = body } }

    static func start(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let started = pthread_create(&thread, &attributes, { argument in
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &blocked, nil)
            Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
            return nil
        }, box)
        if started != 0 {
            // No thread to be had (resource limits): run here rather than never.
            Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
        }
    }
}
