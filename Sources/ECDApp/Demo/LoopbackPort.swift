#if canImport(Glibc)
import Glibc
#endif

/// A free TCP port on 127.0.0.1, found by binding port 0 and closing again.
///
/// The public listener's port must be known before the daemon is built, because `public.base_url`
/// (from which every redirect_uri and callback_url is made) contains it. Another process could take
/// the port in the instant between; callers retry with a fresh one when binding then fails.
enum LoopbackPort {
    static func pick() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw DemoError(step: "setup", message: "socket() failed, errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw DemoError(step: "setup", message: "bind() failed, errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw DemoError(step: "setup", message: "getsockname() failed, errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
