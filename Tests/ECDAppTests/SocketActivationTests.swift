import ECDHTTP
import ECDSimulator
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// systemd's socket activation: the variables read as `sd_listen_fds_with_names` reads them, the
/// sockets taken by the listeners they are named after, and a real `ecd serve` on passed sockets.
@Suite("socket activation")
struct SocketActivationTests {
    let pid: Int32 = 4242

    func parse(_ environment: [String: String]) throws(SocketActivationError) -> SocketActivation {
        try SocketActivation.parse(environment, pid: pid)
    }

    @Test func sockets_are_named_after_the_listeners_from_descriptor_3() throws {
        #expect(try parse([:]) == .none)
        let both = try parse(["LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "internal:public"])
        #expect(both.sockets == ["internal": 3, "public": 4] && both.ignored == nil)
        #expect(try parse(["LISTEN_PID": "4242", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "public"]).sockets == ["public": 3])
    }

    @Test func variables_meant_for_another_process_are_ignored() throws {
        // A parent that did not unset them: sd_listen_fds answers 0, whatever the rest says.
        let other = try parse(["LISTEN_PID": "4243", "LISTEN_FDS": "9", "LISTEN_FDNAMES": "x"])
        #expect(other.sockets.isEmpty)
        #expect(other.ignored == "LISTEN_PID=4243 names another process (this is 4242)")
    }

    @Test func malformed_variables_are_errors_that_say_what_is_wrong() {
        let cases: [([String: String], SocketActivationError, String)] = [
            (["LISTEN_PID": "abc", "LISTEN_FDS": "1"], .badPID("abc"), "LISTEN_PID=abc is not a process id"),
            (["LISTEN_PID": "4242"], .badCount(nil), "LISTEN_PID is set but LISTEN_FDS is not"),
            (["LISTEN_PID": "4242", "LISTEN_FDS": "two"], .badCount("two"), "LISTEN_FDS=two is not a positive number"),
            (["LISTEN_PID": "4242", "LISTEN_FDS": "0"], .badCount("0"), "LISTEN_FDS=0 is not a positive number"),
            (["LISTEN_PID": "4242", "LISTEN_FDS": "-1"], .badCount("-1"), "LISTEN_FDS=-1 is not a positive number"),
            (["LISTEN_PID": "4242", "LISTEN_FDS": "3", "LISTEN_FDNAMES": "public:internal:admin"], .tooMany(3),
             "ecd takes at most 2 sockets"),
            (["LISTEN_PID": "4242", "LISTEN_FDS": "1"], .unnamed(count: 1),
             "1 socket passed without LISTEN_FDNAMES; name each socket public or internal (FileDescriptorName="),
            (["LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "public"], .namesMismatch(count: 2, names: ["public"]),
             "LISTEN_FDS=2 but LISTEN_FDNAMES names 1 (public)"),
            (["LISTEN_PID": "4242", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "public:internal"],
             .namesMismatch(count: 1, names: ["public", "internal"]), "LISTEN_FDS=1 but LISTEN_FDNAMES names 2"),
            (["LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "public:ecd.socket"], .unknownName("ecd.socket", fd: 4),
             "fd 4 is named \"ecd.socket\", which is no listener of ecd"),
            (["LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "public:public"], .duplicateName("public"),
             "two sockets are named public"),
        ]
        for (environment, error, text) in cases {
            #expect(throws: error) { try parse(environment) }
            #expect(error.description.hasPrefix("socket activation: ") && error.description.contains(text), "\(error)")
        }
    }

    @Test func the_variables_are_unset_whatever_they_say() throws {
        var environment = ["LISTEN_PID": "1", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "public", "OTHER": "kept"]
        let activation = try SocketActivation.fromEnvironment(read: { environment[$0] }, unset: { environment[$0] = nil })
        #expect(activation.ignored != nil)
        #expect(environment == ["OTHER": "kept"])
        environment = ["LISTEN_PID": "x"]
        #expect(throws: SocketActivationError.badPID("x")) {
            try SocketActivation.fromEnvironment(read: { environment[$0] }, unset: { environment[$0] = nil })
        }
        #expect(environment.isEmpty)
    }

    @Test func an_inherited_internal_socket_other_hosts_can_reach_needs_allow_remote() throws {
        // Each attempt owns (and closes) the descriptor it is given.
        let socket = try SocketAddress.tcp(port: 0, host: "0.0.0.0").listen()
        let copy = dup(socket.fd)
        var configuration = LifecycleTests.configuration(baseURL: URL(string: "http://127.0.0.1:1")!, storagePath: "/unused")
        #expect {
            _ = try ApplicationListeners.bind(configuration, inherited: SocketActivation(sockets: ["internal": copy], ignored: nil))
        } throws: { error in
            "\(error)".hasPrefix("internal.listen inherited socket fd \(copy) is bound to 0.0.0.0:\(socket.port), which other hosts can reach")
        }
        configuration.internalListener.allowRemote = true
        let listeners = try ApplicationListeners.bind(configuration, inherited: SocketActivation(sockets: ["internal": socket.fd], ignored: nil))
        #expect(listeners.internalListener.address == .tcp(host: "0.0.0.0", port: socket.port))
        listeners.close()
    }

    @Test("ecd serve takes the sockets passed to it, whatever port its configuration names")
    func serve_on_passed_sockets() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let publicSocket = try PassedSocket.loopback()
        let internalSocket = try PassedSocket.loopback()
        // Port 0 in the configuration: only the passed sockets can put ecd on these ports.
        let process = try RunningECD(["serve"], environment: DaemonEnvironment.make(folder, extra: [
            "ECD_PUBLIC_BASE_URL": "http://127.0.0.1:\(publicSocket.port)",
        ]), sockets: [.init(name: "public", fd: publicSocket.fd), .init(name: "internal", fd: internalSocket.fd)])
        // The child is now their only listener.
        close(publicSocket.fd)
        close(internalSocket.fd)
        let line = try await process.waitForError { $0.contains("\"msg\":\"listening\"") }
        #expect(line.contains("\"public\":\"127.0.0.1:\(publicSocket.port)\"") && line.contains("\"internal\":\"127.0.0.1:\(internalSocket.port)\""), "\(line)")
        #expect(process.standardError().contains("public=fd 3, internal=fd 4"))
        #expect(try await RawHTTP.send(.tcp(port: publicSocket.port), "GET", "/healthz").status == 200)
        let ready = try await RawHTTP.send(.tcp(port: internalSocket.port), "GET", "/v1/accounts",
                                           headers: [("Authorization", "Bearer \(ServeProcess.apiKey)")])
        #expect(ready.status == 200, "\(ready.text)")
        #expect(await process.terminate(signal: SIGTERM) == 0)
    }

    @Test("ecd serve refuses what it cannot serve, naming the socket and the setting")
    func serve_refuses_unusable_sockets() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let datagram = try SocketAddress.tcp(port: 0).socket(type: Int32(SOCK_DGRAM.rawValue))
        defer { close(datagram) }
        let listening = try PassedSocket.loopback()
        defer { close(listening.fd) }
        let cases: [([SpawnedProcess.Socket], String)] = [
            ([.init(name: "public", fd: datagram)], "public.listen inherited socket fd 3 is not a stream socket"),
            ([.init(name: "admin", fd: listening.fd)], "socket activation: fd 3 is named \"admin\", which is no listener of ecd"),
        ]
        for (sockets, message) in cases {
            let process = try RunningECD(["serve"], environment: DaemonEnvironment.make(folder), sockets: sockets)
            #expect(await process.terminate(signal: 0) == 1)
            #expect(process.standardError().contains(message), "\(process.standardError())")
        }
    }
}
