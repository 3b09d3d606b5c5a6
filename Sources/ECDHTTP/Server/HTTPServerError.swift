#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A failure to start listening, with the system call and errno that failed.
public enum HTTPServerError: Error, Sendable, CustomStringConvertible, Equatable {
    case system(call: String, errno: Int32, address: String)
    case addressResolution(host: String, message: String)
    case alreadyStarted
    /// A socket handed over by socket activation is not what a listener needs (`problem`
    /// completes "inherited socket fd N …").
    case inheritedSocket(fd: Int32, problem: String)

    public var description: String {
        switch self {
        case .system(let call, let code, let address):
            "\(call) failed for \(address): \(String(cString: strerror(code))) (errno \(code))"
        case .addressResolution(let host, let message):
            "cannot resolve listen host \(host): \(message)"
        case .alreadyStarted:
            "server already started"
        case .inheritedSocket(let fd, let problem):
            "inherited socket fd \(fd) \(problem)"
        }
    }
}
