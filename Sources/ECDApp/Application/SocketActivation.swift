#if canImport(Glibc)
import Glibc
#endif

/// systemd's socket activation, read as `sd_listen_fds_with_names(3)` reads it: when `LISTEN_PID`
/// names this process, `LISTEN_FDS` sockets start at descriptor 3, and `LISTEN_FDNAMES` names
/// them in order (colon-separated; a unit's `FileDescriptorName=`). ecd takes sockets named after
/// its listeners, `public` and `internal`; a listener without one binds its configured address.
/// The descriptors themselves are checked when they are taken (`BoundListener(inheriting:)`).
struct SocketActivation: Sendable, Equatable {
    /// The first descriptor passed (`SD_LISTEN_FDS_START`).
    static let firstDescriptor: Int32 = 3
    /// The listeners that can take a socket, by name.
    static let listenerNames = ["public", "internal"]
    static let variables = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]

    /// Listener name → descriptor.
    let sockets: [String: Int32]
    /// Why sockets passed were not taken (`LISTEN_PID` names another process), for a log line.
    let ignored: String?

    static let none = SocketActivation(sockets: [:], ignored: nil)

    /// What the variables in `environment` hand to the process `pid`. No `LISTEN_PID`: nothing.
    /// Variables meant for another process (a parent that did not unset them) are ignored, as
    /// `sd_listen_fds` ignores them; anything else malformed is an error, since the sockets were
    /// meant for this process and serving without them would listen somewhere else.
    static func parse(_ environment: [String: String], pid: Int32) throws(SocketActivationError) -> SocketActivation {
        guard let pidText = environment["LISTEN_PID"] else { return .none }
        guard let listenPID = Int32(pidText), listenPID > 0 else { throw .badPID(pidText) }
        guard listenPID == pid else {
            return SocketActivation(sockets: [:], ignored: "LISTEN_PID=\(listenPID) names another process (this is \(pid))")
        }
        guard let countText = environment["LISTEN_FDS"] else { throw .badCount(nil) }
        guard let count = Int(countText), count > 0 else { throw .badCount(countText) }
        guard count <= listenerNames.count else { throw .tooMany(count) }
        guard let namesText = environment["LISTEN_FDNAMES"] else { throw .unnamed(count: count) }
        let names = namesText.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard names.count == count else { throw .namesMismatch(count: count, names: names) }
        var sockets: [String: Int32] = [:]
        for (index, name) in names.enumerated() {
            let fd = firstDescriptor + Int32(index)
            guard listenerNames.contains(name) else { throw .unknownName(name, fd: fd) }
            guard sockets[name] == nil else { throw .duplicateName(name) }
            sockets[name] = fd
        }
        return SocketActivation(sockets: sockets, ignored: nil)
    }

    /// Reads this process's environment, then unsets the variables (whatever they said), so that
    /// no process ecd starts takes the sockets for its own. (`read` and `unset` are the C
    /// library's; a test passes its own rather than change a running test process's environment.)
    static func fromEnvironment(
        read: (String) -> String? = { getenv($0).map { String(cString: $0) } },
        unset: (String) -> Void = { unsetenv($0) }
    ) throws(SocketActivationError) -> SocketActivation {
        var environment: [String: String] = [:]
        for name in variables {
            environment[name] = read(name)
            unset(name)
        }
        return try parse(environment, pid: getpid())
    }
}

/// Socket activation variables that do not describe sockets ecd can take.
enum SocketActivationError: Error, Sendable, Equatable, CustomStringConvertible {
    case badPID(String)
    case badCount(String?)
    case tooMany(Int)
    case unnamed(count: Int)
    case namesMismatch(count: Int, names: [String])
    case unknownName(String, fd: Int32)
    case duplicateName(String)

    private static let naming = "name each socket public or internal (FileDescriptorName= in the .socket unit)"

    var description: String {
        switch self {
        case .badPID(let text):
            "socket activation: LISTEN_PID=\(text) is not a process id"
        case .badCount(nil):
            "socket activation: LISTEN_PID is set but LISTEN_FDS is not"
        case .badCount(let text?):
            "socket activation: LISTEN_FDS=\(text) is not a positive number of sockets"
        case .tooMany(let count):
            "socket activation: LISTEN_FDS=\(count), but ecd takes at most 2 sockets (public and internal)"
        case .unnamed(let count):
            "socket activation: \(count) socket\(count == 1 ? "" : "s") passed without LISTEN_FDNAMES; \(Self.naming)"
        case .namesMismatch(let count, let names):
            "socket activation: LISTEN_FDS=\(count) but LISTEN_FDNAMES names \(names.count) (\(names.joined(separator: ":")))"
        case .unknownName(let name, let fd):
            "socket activation: fd \(fd) is named \"\(name)\", which is no listener of ecd; \(Self.naming)"
        case .duplicateName(let name):
            "socket activation: two sockets are named \(name); \(Self.naming)"
        }
    }
}
