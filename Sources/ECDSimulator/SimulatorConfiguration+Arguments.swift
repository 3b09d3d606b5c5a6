import ECDHTTP

/// A flag the simulator's command line could not use.
public enum SimulatorConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownFlag(String)
    case missingValue(flag: String)
    case invalidValue(flag: String, value: String, expected: String)

    public var description: String {
        switch self {
        case .unknownFlag(let flag): "unknown option \(flag)"
        case .missingValue(let flag): "option \(flag) needs a value"
        case .invalidValue(let flag, let value, let expected):
            // Client secrets are never echoed back.
            flag == "--client-secret" ? "option \(flag): expected \(expected)" : "option \(flag): \(value) is not \(expected)"
        }
    }
}

extension SimulatorConfiguration {
    /// One line per flag understood by `init(arguments:)`, for `ecd simulator --help`.
    public static let usage = """
        --listen HOST:PORT            address to listen on (default 127.0.0.1:9000)
        --client-id ID                the application's client id (default sim_client_id)
        --client-secret SECRET        the application's client secret (default sim_client_secret)
        --token-lifetime SECONDS      access token lifetime (default 1800)
        --code-lifetime SECONDS       authorization code lifetime (default 300)
        --sign-callbacks              sign delegated-access callbacks with Cronofy-HMAC-SHA256
        --auto-approve                approve every authorize request at once (no page)
        --refuse EMAIL                answer EMAIL's delegated access with unable_to_grant_scope (repeatable)
        --drop-callbacks EMAIL        never send EMAIL's callback (repeatable)
        --domain DOMAIN               domain of approved service accounts (default example.com)
        --provider NAME               provider of approved service accounts (default google)
        --service-account-email EMAIL email of approved service accounts
        --callback-delay MILLISECONDS wait before sending a callback (default 20)
        --callback-ca-file PATH       trust exactly the PEM certificates in PATH for https callbacks
        --fault ENDPOINT:KIND[:COUNT] fail the next COUNT calls: KIND 500, 429, 429@SECONDS, slow@MILLISECONDS;
                                      ENDPOINT token, revoke, authorizations, userinfo, resources or any
        """

    /// Reads the flags of `usage` (each `--flag VALUE` or `--flag=VALUE`) over the defaults.
    public init(arguments: [String]) throws(SimulatorConfigurationError) {
        self.init()
        var index = 0
        while index < arguments.count {
            var flag = arguments[index]
            var inlineValue: String?
            if let equals = flag.firstIndex(of: "="), flag.hasPrefix("--") {
                inlineValue = String(flag[flag.index(after: equals)...])
                flag = String(flag[..<equals])
            }
            index += 1
            func value() throws(SimulatorConfigurationError) -> String {
                if let inlineValue { return inlineValue }
                guard index < arguments.count else { throw .missingValue(flag: flag) }
                defer { index += 1 }
                return arguments[index]
            }
            func noValue() throws(SimulatorConfigurationError) {
                if let inlineValue { throw .invalidValue(flag: flag, value: inlineValue, expected: "a flag without value") }
            }
            switch flag {
            case "--listen":
                let text = try value()
                do { listen = try ListenAddress(parsing: text) } catch {
                    throw .invalidValue(flag: flag, value: text, expected: "HOST:PORT or unix:PATH")
                }
            case "--client-id": clientID = try nonEmpty(flag, try value())
            case "--client-secret": clientSecret = try nonEmpty(flag, try value())
            case "--token-lifetime": tokenLifetime = .seconds(try positive(flag, try value()))
            case "--code-lifetime": codeLifetime = .seconds(try positive(flag, try value()))
            case "--sign-callbacks":
                try noValue()
                signCallbacks = true
            case "--auto-approve":
                try noValue()
                autoApprove = true
            case "--refuse": refusedEmails.insert(try nonEmpty(flag, try value()).lowercased())
            case "--drop-callbacks": droppedCallbackEmails.insert(try nonEmpty(flag, try value()).lowercased())
            case "--domain": serviceAccountDomain = try nonEmpty(flag, try value())
            case "--provider": serviceAccountProvider = try nonEmpty(flag, try value())
            case "--service-account-email": serviceAccountEmail = try nonEmpty(flag, try value())
            case "--callback-delay":
                let text = try value()
                guard let ms = Int(text), ms >= 0 else {
                    throw .invalidValue(flag: flag, value: text, expected: "a number of milliseconds")
                }
                callbackDelay = .milliseconds(ms)
            case "--callback-ca-file":
                let path = try nonEmpty(flag, try value())
                guard HTTPCallbackTransport.canLoad(caFile: path) else {
                    throw .invalidValue(flag: flag, value: path, expected: "a readable file of PEM certificates")
                }
                callbackCAFile = path
            case "--fault": faults.append(try SimulatorFaultRule(parsing: try value()))
            default: throw .unknownFlag(flag)
            }
        }
    }

    private func nonEmpty(_ flag: String, _ text: String) throws(SimulatorConfigurationError) -> String {
        guard !text.isEmpty else { throw .invalidValue(flag: flag, value: text, expected: "a non-empty value") }
        return text
    }

    private func positive(_ flag: String, _ text: String) throws(SimulatorConfigurationError) -> Int {
        guard let n = Int(text), n > 0 else { throw .invalidValue(flag: flag, value: text, expected: "a positive number of seconds") }
        return n
    }
}
