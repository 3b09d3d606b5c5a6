import ECDSimulator
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// The operator's command line against a running daemon and simulator, through the real `ecd`
/// binary and real sockets: tables and JSON, where the daemon's address and key come from, and
/// a client pointed at the wrong listener.
@Suite("ecd operator commands", .serialized)
struct CommandsOperatorTests {
    /// Runs `ecd arguments` against `daemon`'s internal listener with its API key.
    private func ecd(_ daemon: TestDaemon, _ arguments: [String], input: String? = nil,
                     environment: [String: String] = [:]) async throws -> ECDBinary.Result {
        try await ECDBinary.run(arguments + ["--url", daemon.internalURL],
                                environment: ["ECD_API_KEY": TestDaemon.apiKey].merging(environment) { $1 }, input: input)
    }

    private func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test("service-accounts list, show and revoke, as tables and as JSON")
    func serviceAccounts() async throws {
        try await TestDaemon.run { daemon in
            let id = try await daemon.connectServiceAccount()
            let listed = try await ecd(daemon, ["service-accounts", "list", "--json"])
            #expect(listed.code == 0, "\(listed.stderr)")
            #expect((json(listed.stdout)["service_accounts"] as? [[String: Any]])?.first?["id"] as? String == id)
            let table = try await ecd(daemon, ["service-accounts", "list", "--table"])
            let lines = table.stdout.split(separator: "\n")
            #expect(lines.first?.hasPrefix("ID") == true && lines.first?.contains("STATUS") == true, "\(table.stdout)")
            #expect(lines.count == 2 && lines[1].hasPrefix(id) && lines[1].contains("active"), "\(table.stdout)")

            let shown = try await ecd(daemon, ["service-accounts", "show", id, "--table"])
            #expect(shown.stdout.contains("id:") && shown.stdout.contains(id))
            #expect(shown.stdout.split(separator: "\n").contains { $0.hasPrefix("status:") && $0.hasSuffix("active") }, "\(shown.stdout)")
            let shownJSON = try await ecd(daemon, ["service-accounts", "show", id, "--json"])
            #expect(json(shownJSON.stdout)["status"] as? String == "active")

            let missing = try await ecd(daemon, ["service-accounts", "show", "ser_nope"])
            #expect(missing.code == 1 && missing.stderr.contains("HTTP 404"))

            let revoked = try await ecd(daemon, ["service-accounts", "revoke", id, "--json"])
            #expect(revoked.code == 0, "\(revoked.stderr)")
            #expect(json(revoked.stdout)["status"] as? String == "revoked")
            let after = try await ecd(daemon, ["service-accounts", "list", "--table"])
            #expect(after.stdout.contains("revoked"))
        }
    }

    @Test("accounts refresh prints the token with --json and only its expiry in a table")
    func refresh() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()
            #expect(try await daemon.requestAndSettle(["r@example.com"]) == ["r@example.com": "active"])
            let table = try await ecd(daemon, ["accounts", "refresh", "r@example.com", "--table"])
            #expect(table.code == 0, "\(table.stderr)")
            #expect(table.stdout.contains("refreshed:") && table.stdout.contains("expires at:"), "\(table.stdout)")
            let tokens = daemon.simulator.control.issued().accessTokens
            #expect(!tokens.isEmpty && !tokens.contains { table.stdout.contains($0) })
            let refreshedJSON = try await ecd(daemon, ["accounts", "refresh", "r@example.com", "--json"])
            let token = try #require(json(refreshedJSON.stdout)["access_token"] as? String)
            #expect(daemon.simulator.control.issued().accessTokens.contains(token))
            // Two refreshes: two tokens issued beyond the first.
            #expect(daemon.simulator.control.issued().accessTokens.count >= tokens.count + 1)
            let listed = try await ecd(daemon, ["accounts", "list", "--table"])
            #expect(listed.stdout.split(separator: "\n").contains { $0.hasPrefix("r@example.com") && $0.contains("active") })
        }
    }

    @Test("events as a page, as a table, and followed as they are written")
    func events() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()
            let page = try await ecd(daemon, ["events", "--json"])
            #expect(page.code == 0, "\(page.stderr)")
            let events = try #require(json(page.stdout)["events"] as? [[String: Any]])
            #expect(events.first?["type"] as? String == "service_account.connected")
            let table = try await ecd(daemon, ["events", "--table"])
            #expect(table.stdout.hasPrefix("ID") && table.stdout.contains("service_account.connected"))

            let follower = try RunningECD(["events", "--follow", "--json", "--interval", "0.1", "--url", daemon.internalURL],
                                          environment: ["ECD_API_KEY": TestDaemon.apiKey])
            _ = try await follower.waitForOutput { $0.contains("service_account.connected") }
            _ = try await daemon.requestAndSettle(["f@example.com"])
            let authorized = try await follower.waitForOutput { $0.contains("account.authorized") }
            #expect(json(authorized)["email"] as? String == "f@example.com")
            #expect(await follower.terminate(signal: SIGTERM) != -1)
            // One JSON object per line, in id order, each printed once.
            let ids = follower.standardOutput().split(separator: "\n").compactMap { json(String($0))["id"] as? Int }
            #expect(ids == Array(1...ids.count) && ids.count >= 3, "\(ids)")
        }
    }

    @Test("audit as a page, as a table, and followed as lines are written")
    func audit() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()
            let page = try await ecd(daemon, ["audit", "--json"])
            #expect(page.code == 0, "\(page.stderr)")
            let entries = try #require(json(page.stdout)["entries"] as? [[String: Any]])
            #expect(entries.first?["action"] as? String == "connect_link.create")
            let table = try await ecd(daemon, ["audit", "--table"])
            #expect(table.stdout.hasPrefix("ID") && table.stdout.contains("connect_link.create") && table.stdout.contains("#1"),
                    "\(table.stdout)")

            let follower = try RunningECD(["audit", "--follow", "--json", "--interval", "0.1", "--url", daemon.internalURL],
                                          environment: ["ECD_API_KEY": TestDaemon.apiKey])
            _ = try await follower.waitForOutput { $0.contains("connect_link.create") }
            _ = try await daemon.requestAndSettle(["audited@example.com"])
            _ = try await daemon.api("GET", "/v1/accounts/audited@example.com/token")
            let read = try await follower.waitForOutput { $0.contains("account.token.read") }
            #expect(json(read)["target"] as? String == "audited@example.com")
            #expect(await follower.terminate(signal: SIGTERM) != -1)
            let ids = follower.standardOutput().split(separator: "\n").compactMap { json(String($0))["id"] as? Int }
            #expect(ids == Array(1...ids.count) && ids.count >= 3, "\(ids)")
        }
    }

    @Test("accounts request reads arguments, a file and standard input, and --wait follows them to the end")
    func requestAndWait() async throws {
        try await TestDaemon.run(simulator: { $0.refusedEmails = ["room@example.com"] }) { daemon in
            try await daemon.connectServiceAccount()
            let folder = try TemporaryFolder()
            defer { folder.remove() }
            let file = try folder.write("emails.txt", "# team A\nfile1@example.com\n\n  file2@example.com  # lead\n")
            let result = try await ecd(daemon, ["accounts", "request", "arg@example.com", "--file", file, "-", "--wait", "--table",
                                                "--interval", "0.1"],
                                       input: "stdin1@example.com\n#x\nstdin2@example.com\n")
            #expect(result.code == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            for email in ["arg@example.com", "file1@example.com", "file2@example.com", "stdin1@example.com", "stdin2@example.com"] {
                #expect(lines.contains("active  \(email)"), "\(email): \(result.stdout)")
            }
            #expect(lines.last?.hasPrefix("5 of 5 accounts settled in") == true, "\(result.stdout)")
            #expect(lines.last?.hasSuffix("5 active, 0 failed") == true)

            // JSON: the settled accounts; a refused one makes the exit code 1.
            let mixed = try await ecd(daemon, ["accounts", "request", "-", "--wait", "--json", "--interval", "0.1"],
                                      input: "ok@example.com\nroom@example.com\n")
            #expect(mixed.code == 1)
            #expect(mixed.stderr.contains("1 of 2 accounts did not become active"), "\(mixed.stderr)")
            let accounts = try #require(json(mixed.stdout)["accounts"] as? [[String: Any]])
            #expect(accounts.map { $0["status"] as? String } == ["active", "failed"])

            // Without --wait: the answer at once, every account pending.
            let quick = try await ecd(daemon, ["accounts", "request", "q1@example.com", "q2@example.com", "--json"])
            #expect((json(quick.stdout)["accounts"] as? [[String: Any]])?.map { $0["status"] as? String } == ["pending", "pending"])

            // Several refused entries: one line each.
            let refused = try await ecd(daemon, ["accounts", "request", "-"], input: "bad one\nq1@example.com\nQ1@example.com\nalso bad\n")
            #expect(refused.code == 1)
            let errorLines = refused.stderr.split(separator: "\n")
            #expect(errorLines.contains("accounts[0].email: not a valid email address"), "\(refused.stderr)")
            #expect(errorLines.contains("accounts[2].email: duplicate of accounts[1].email"), "\(refused.stderr)")
            #expect(errorLines.contains { $0.hasPrefix("accounts[3].email:") }, "\(refused.stderr)")

            let empty = try await ecd(daemon, ["accounts", "request", "--file", file], input: nil, environment: [:])
            #expect(empty.code == 0)
            let none = try await ecd(daemon, ["accounts", "request", "-"], input: "# nothing\n\n")
            #expect(none.code == 1 && none.stderr.contains("no emails"))
        }
    }

    @Test("accounts request --renew renews active accounts, and --wait waits for the renewal and reports a failed one")
    func renewAndWait() async throws {
        // Callbacks a second late, so a --wait that took the active account as settled would end
        // with the renewal still pending.
        try await TestDaemon.run(simulator: { $0.callbackDelay = .seconds(1) }) { daemon in
            try await daemon.connectServiceAccount()
            #expect(try await ecd(daemon, ["accounts", "request", "r1@example.com", "r2@example.com", "--wait", "--json",
                                           "--interval", "0.1"]).code == 0)
            // The same grant again changes nothing; --renew sends `"renew": true`.
            let same = try await ecd(daemon, ["accounts", "request", "r1@example.com", "--json"])
            #expect((json(same.stdout)["accounts"] as? [[String: Any]])?.first?["renewal"] is NSNull, "\(same.stdout)")
            let renewed = try await ecd(daemon, ["accounts", "request", "r1@example.com", "r2@example.com", "--renew", "--wait",
                                                 "--table", "--interval", "0.1"])
            #expect(renewed.code == 0, "\(renewed.stderr)")
            #expect(renewed.stdout.split(separator: "\n").last?.hasPrefix("2 of 2 accounts settled in") == true, "\(renewed.stdout)")
            #expect(renewed.stdout.contains("active  r1@example.com") && renewed.stdout.contains("active  r2@example.com"))
            for email in ["r1@example.com", "r2@example.com"] {
                let account = try await daemon.api("GET", "/v1/accounts/\(email)").json
                #expect(account["status"] as? String == "active" && account["renewal"] is NSNull, "\(email): \(account)")
            }

            // A refused renewal settles as such; the account stays active; the exit code is 1.
            daemon.simulator.control.refuse(email: "r2@example.com")
            let refused = try await ecd(daemon, ["accounts", "request", "r1@example.com", "r2@example.com", "--renew", "--wait",
                                                 "--json", "--interval", "0.1"])
            #expect(refused.code == 1)
            #expect(refused.stderr.contains("1 of 2 renewals failed"), "\(refused.stderr)")
            let accounts = try #require(json(refused.stdout)["accounts"] as? [[String: Any]])
            #expect(accounts.map { $0["status"] as? String } == ["active", "active"])
            #expect(accounts.map { ($0["renewal"] as? [String: Any])?["status"] as? String } == [nil, "failed"], "\(refused.stdout)")
        }
    }

    @Test("the daemon is --url, else ECD_URL, else the configuration's internal.listen (unix sockets too)")
    func urlResolution() async throws {
        try await TestDaemon.run(unixSocket: true) { daemon in
            let folder = try TemporaryFolder()
            defer { folder.remove() }
            guard case .unix(let socket) = daemon.internalEndpoint else { Issue.record("not a unix socket"); return }
            let closedPort = try SocketAddress.unusedLoopbackPort()
            let good = try folder.write("good.json", #"{"internal":{"listen":"unix:\#(socket)"}}"#)
            let bad = try folder.write("bad.json", #"{"internal":{"listen":"127.0.0.1:\#(closedPort)"}}"#)
            let key = ["ECD_API_KEY": TestDaemon.apiKey]
            func list(_ extra: [String], _ environment: [String: String]) async throws -> ECDBinary.Result {
                try await ECDBinary.run(["service-accounts", "list", "--json"] + extra, environment: key.merging(environment) { $1 })
            }
            #expect(try await list(["--config", good], [:]).code == 0)
            #expect(try await list(["--config", bad], ["ECD_URL": "unix:\(socket)"]).code == 0)
            #expect(try await list(["--config", bad, "--url", "unix:\(socket)"], ["ECD_URL": "http://127.0.0.1:\(closedPort)"]).code == 0)
            let stale = try await list(["--config", good], ["ECD_URL": "http://127.0.0.1:\(closedPort)"])
            #expect(stale.code == 1)
            #expect(stale.stderr.contains("from ECD_URL"), "\(stale.stderr)")
            let fromConfig = try await list(["--config", bad], [:])
            #expect(fromConfig.code == 1 && fromConfig.stderr.contains("internal.listen in \(bad)"), "\(fromConfig.stderr)")

            // The key: --api-key-file before ECD_API_KEY.
            let keyFile = try folder.write("key", "\n\(TestDaemon.secondAPIKey)\n")
            let withFile = try await ECDBinary.run(["service-accounts", "list", "--url", "unix:\(socket)", "--api-key-file", keyFile],
                                                   environment: ["ECD_API_KEY": "wrong-key"])
            #expect(withFile.code == 0, "\(withFile.stderr)")
            let wrong = try await ECDBinary.run(["service-accounts", "list", "--url", "unix:\(socket)"], environment: ["ECD_API_KEY": "wrong-key"])
            #expect(wrong.code == 1 && wrong.stderr.contains("HTTP 401"))
            let noKey = try await ECDBinary.run(["service-accounts", "list", "--url", "unix:\(socket)"])
            #expect(noKey.code == 1 && noKey.stderr.contains("--api-key-file") && noKey.stderr.contains("ECD_API_KEY"))
        }
    }

    @Test("a client pointed at the public listener says so")
    func publicListener() async throws {
        try await TestDaemon.run { daemon in
            for arguments in [["accounts", "list"], ["service-accounts", "show", "ser_x"], ["events"]] {
                let result = try await ECDBinary.run(arguments + ["--url", "http://127.0.0.1:\(daemon.publicPort)"],
                                                     environment: ["ECD_API_KEY": TestDaemon.apiKey])
                #expect(result.code == 1)
                #expect(result.stderr.contains("this is ecd's public listener") && result.stderr.contains("internal.listen"),
                        "\(arguments): \(result.stderr)")
            }
        }
    }
}

extension TestDaemon {
    /// The internal listener as `--url` spells it.
    var internalURL: String {
        switch internalEndpoint {
        case .tcp(let port, _): "http://127.0.0.1:\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}

/// `ecd` with its standard output on a pseudo-terminal, as when a person runs it: what it
/// decides from `isatty` (tables, the live progress line) is then what a person would see.
enum TerminalRun {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func run(_ arguments: [String], environment: [String: String]) async throws -> (code: Int32, output: String) {
        // posix_openpt and friends are not visible from Swift's Glibc: the same by hand, /dev/ptmx
        // with the TIOCSPTLCK (unlock) and TIOCGPTN (slave number) ioctls.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, 0x4004_5431, &unlock) == 0, ioctl(master, 0x8004_5430, &number) == 0 else {
            throw Failure(description: "no pseudo-terminal: errno \(errno)")
        }
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        guard slave >= 0 else { close(master); throw Failure(description: "cannot open the terminal's slave side") }
        let process = Process()
        process.executableURL = ECDBinary.url
        process.arguments = arguments
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { mine, _ in mine }
        process.standardOutput = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        close(slave)
        // Read until the child has exited and the slave side is closed (read then fails with EIO).
        let output = await onOwnThread { () -> String in
            var data: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(master, &buffer, buffer.count)
                if count <= 0 { break }
                data.append(contentsOf: buffer[0..<count])
            }
            close(master)
            return String(decoding: data, as: UTF8.self)
        }
        let code = await ProcessExit.wait(for: process, limit: .seconds(60)) ?? -1
        return (code, output)
    }
}

@Suite("ecd on a terminal", .serialized)
struct CommandsTerminalTests {
    @Test("on a terminal: tables by default, and --wait redraws one progress line with an estimate")
    func liveProgress() async throws {
        // Callbacks a second late, so the first polls see the accounts pending.
        try await TestDaemon.run(simulator: { $0.callbackDelay = .seconds(1) }) { daemon in
            let id = try await daemon.connectServiceAccount()
            let environment = ["ECD_API_KEY": TestDaemon.apiKey]
            let link = try await TerminalRun.run(["connect-link", "--url", daemon.internalURL], environment: environment)
            #expect(link.code == 0)
            #expect(link.output.hasPrefix("http://127.0.0.1:\(daemon.publicPort)/connect/") && link.output.contains("\r\n(for the administrator"),
                    "\(link.output)")
            let listed = try await TerminalRun.run(["service-accounts", "list", "--url", daemon.internalURL], environment: environment)
            #expect(listed.code == 0)
            #expect(listed.output.hasPrefix("ID") && listed.output.contains(id), "\(listed.output)")

            let waited = try await TerminalRun.run(
                ["accounts", "request", "t1@example.com", "t2@example.com", "t3@example.com", "--wait", "--interval", "0.1",
                 "--url", daemon.internalURL], environment: environment)
            #expect(waited.code == 0, "\(waited.output)")
            let redraw = "\r\u{1B}[K"
            #expect(waited.output.contains(redraw + "[........................] 0/3 · 0 active · 0 failed · 3 pending · about 1 s left (request budget 400/min)"),
                    "\(waited.output.debugDescription)")
            #expect(waited.output.contains(redraw + "[########################] 3/3 · 3 active · 0 failed · 0 pending"))
            #expect(waited.output.contains("3 of 3 accounts settled in"))
            // No line per account: that is for pipes.
            #expect(!waited.output.contains("active  t1@example.com"))

            // A renewal: the accounts stay active and the line counts them renewing until it ends.
            let renewed = try await TerminalRun.run(
                ["accounts", "request", "t1@example.com", "t2@example.com", "--renew", "--wait", "--interval", "0.1",
                 "--url", daemon.internalURL], environment: environment)
            #expect(renewed.code == 0, "\(renewed.output)")
            #expect(renewed.output.contains(redraw + "[........................] 0/2 · 0 active · 0 failed · 2 pending (2 renewing)"),
                    "\(renewed.output.debugDescription)")
            #expect(renewed.output.contains(redraw + "[########################] 2/2 · 2 active · 0 failed · 0 pending"))
        }
    }
}
