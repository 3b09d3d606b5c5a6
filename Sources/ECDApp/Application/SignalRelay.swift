import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The write end of the relay's pipe, for the C signal handler (which can capture nothing).
/// Set once, before any handler is installed, and never changed.
nonisolated(unsafe) private var relayWriteFD: Int32 = -1

/// The signal handler: async-signal-safe, it only writes the number into the pipe (non-blocking,
/// so a full pipe drops the byte rather than stalling the interrupted thread).
private func relaySignal(_ number: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(relayWriteFD, &byte, 1)
    errno = saved
}

/// The process-wide half of `SignalListener`: one pipe, one handler per signal, one reader thread
/// that hands each signal to every listener that asked for it. The reader blocks in `read`, on a
/// thread of its own, never on Swift concurrency's pool.
final class SignalRelay: @unchecked Sendable {
    static let shared = SignalRelay()

    private let lock = NSLock()
    /// Guarded by `lock`.
    private var listeners: [ObjectIdentifier: (listener: SignalListener, signals: [Int32])] = [:]

    private init() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            preconditionFailure("cannot create the signal pipe (errno \(errno))")
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        relayWriteFD = fds[1]
        let readFD = fds[0]
        let thread = Thread { [self] in readLoop(readFD) }
        thread.name = "ecd.signals"
        thread.start()
    }

    /// Registers `listener` and installs the handler for `signals` (before returning, so no
    /// signal sent afterwards can be missed).
    func add(_ listener: SignalListener, for signals: [Int32]) {
        lock.withLock {
            listeners[ObjectIdentifier(listener)] = (listener, signals)
            for number in signals { Self.install(number) }
        }
    }

    /// Unregisters `listener`; signals nobody listens to any more get their default action back.
    func remove(_ listener: SignalListener) {
        lock.withLock {
            guard let removed = listeners.removeValue(forKey: ObjectIdentifier(listener)) else { return }
            let stillWanted = Set(listeners.values.flatMap(\.signals))
            for number in removed.signals where !stillWanted.contains(number) {
                signal(number, SIG_DFL)
            }
        }
    }

    private static func install(_ number: Int32) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = relaySignal
        sigemptyset(&action.sa_mask)
        action.sa_flags = Int32(SA_RESTART)
        sigaction(number, &action, nil)
    }

    private func readLoop(_ fd: Int32) {
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1 else { return }
            let number = Int32(byte)
            let targets = lock.withLock { listeners.values.filter { $0.signals.contains(number) }.map(\.listener) }
            for listener in targets { listener.deliver(number) }
        }
    }
}
