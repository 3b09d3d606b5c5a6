import ECDCrypto
import FoundationEssentials

/// `POST /callbacks/delegated/{request}`: checks that need no database, then the group-committed
/// inbox write. Returns only once the callback is durable.
extension AccountRequests {
    /// Throws `CoreError.callbackRejected` (malformed, state mismatch, an error callback with
    /// neither state nor signature, a bad signature, an unknown or superseded request); a
    /// duplicate of an accepted callback returns normally and changes nothing. A rejected callback
    /// changes nothing either.
    func receiveDelegatedCallback(requestID: String, body: [UInt8], signatureHeader: String?) async throws {
        let signed = signatureHeader != nil
        if signed || configuration.requireCallbackSignature {
            guard let header = signatureHeader,
                  CallbackSignature.isValid(header: header, body: body, secret: configuration.clientSecret) else {
                metrics.callback("rejected")
                logger.warning("delegated callback with an invalid signature", metadata: ["request": "\(requestID.prefix(6))…"])
                throw CoreError.callbackRejected(.invalidSignature)
            }
        }
        let item = try parseCallback(requestID: requestID, body: body, signed: signed)
        let outcome = try await intake.submit(item)
        switch outcome {
        case .accepted:
            metrics.callback("accepted")
            if item.codeEnvelope != nil, item.stateHash == nil {
                logger.warning("code callback without state accepted on its unguessable request URL",
                               metadata: ["request": "\(requestID.prefix(6))…"])
            }
        case .duplicate:
            metrics.callback("duplicate")
            logger.info("duplicate delegated callback accepted again", metadata: ["request": "\(requestID.prefix(6))…"])
        case .rejected(let error):
            metrics.callback("rejected")
            let reason = if case .callbackRejected(let rejection) = error { rejection.code } else { "\(error)" }
            logger.warning("delegated callback rejected", metadata: ["reason": "\(reason)"])
            throw error
        }
    }

    private func parseCallback(requestID: String, body: [UInt8], signed: Bool) throws -> IntakeItem {
        let malformed = { (message: String) in
            CoreError.callbackRejected(.malformed(message))
        }
        // Request ids are base64url tokens we made; anything else cannot be one of ours.
        guard !requestID.isEmpty, requestID.utf8.count <= 128,
              requestID.utf8.allSatisfy({ Self.isTokenByte($0) }) else {
            throw CoreError.callbackRejected(.unknownRequest("no delegated-access request has this callback URL"))
        }
        guard let object = try? JSONDecoder().decode(JSONValue.self, from: Data(body)),
              case .object(let authorization)? = object["authorization"] else {
            throw malformed("the body is not JSON of the form {\"authorization\":{…}}")
        }
        let state = authorization["state"]?.stringValue
        if let code = authorization["code"]?.stringValue, !code.isEmpty {
            return IntakeItem(requestID: requestID, stateHash: state.map(SecretHash.of), signed: signed,
                              contentHash: SecretHash.of(code),
                              codeEnvelope: try secrets.seal(code, table: "callback_inbox", row: requestID, column: "code"),
                              error: nil)
        }
        guard let error = authorization["error"]?.stringValue, !error.isEmpty else {
            throw malformed("the authorization carries neither a code nor an error")
        }
        return IntakeItem(requestID: requestID, stateHash: state.map(SecretHash.of), signed: signed,
                          contentHash: SHA256Digest.hash(body), codeEnvelope: nil,
                          error: AccountError(error: Self.clip(error), errorKey: authorization["error_key"]?.stringValue.map(Self.clip),
                                              errorDescription: authorization["error_description"]?.stringValue.map(Self.clip)))
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    /// The longest text from outside (a callback's error fields) that is stored and shown.
    static let clipLength = 200
    static let clipMarker = "…[truncated]"

    /// Text from outside is stored, sent in events and webhooks and shown, so it is bounded
    /// (`clipLength` characters, then `clipMarker`) and loses its control characters (line
    /// breaks, escapes) on the way in; where it is shown it is escaped like any other data.
    static func clip(_ text: String) -> String {
        let printable = String(String.UnicodeScalarView(text.unicodeScalars.map {
            $0.properties.generalCategory == .control ? " " : $0
        }))
        return printable.count <= clipLength ? printable : String(printable.prefix(clipLength)) + clipMarker
    }
}
