import ECDCore
import ECDHTTP
import Foundation

/// `/v1/admin/…`: operations on the daemon's own storage, asked for by `ecd keys rewrap` when the
/// daemon holds the database (so nothing writes behind its back).
struct AdminRoutes: Sendable {
    let core: EnterpriseConnect

    func register(in table: inout RouteTable) {
        let core = self.core
        // Re-seals every secret with the daemon's primary key; answers once done, with the same
        // report as a local `ecd keys rewrap`. Batches are short transactions: requests keep
        // being served meanwhile.
        table.deferred(.post, "/v1/admin/keys/rewrap") { request, _ in
            let expected = try Self.expectedPrimaryKeyID(request.body)
            let keyring = core.keyring
            if let expected, expected != keyring.primaryKeyID {
                throw APIError(.conflict, code: "keyring_mismatch", message:
                    "the daemon seals with key id \(keyring.primaryKeyID), not \(expected): put \(expected) first in its "
                    + "storage.encryption_keys and send it SIGHUP, then rewrap")
            }
            let report: RewrapReport
            do {
                report = try await core.rewrap()
            } catch is RewrapAlreadyRunning {
                throw APIError(.conflict, code: "rewrap_running", message: "a rewrap is already running; wait for its report")
            }
            return .json(.ok, bytes: try RewrapSummary(primaryKeyID: keyring.primaryKeyID, report).encoded())
        }
    }

    /// `{"primary_key_id"?}`: the key the caller means to move secrets to; an empty body takes the
    /// daemon's.
    static func expectedPrimaryKeyID(_ body: [UInt8]) throws(APIError) -> String? {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        let object = try JSONObjectReader(try BodyJSON.parse(body), path: "")
        try object.rejectUnknown(allowing: ["primary_key_id"])
        return try object.optionalString("primary_key_id")
    }
}

/// What `ecd keys rewrap` prints, local or through the daemon: secrets moved per table and per
/// previous key id, and secrets per key id afterwards (an old key may go once it is absent).
struct RewrapSummary: Codable, Equatable {
    let primaryKeyID: String
    let rewrapped: [String: Int]
    let total: Int
    let alreadyCurrent: Int
    let rewrappedFromKeyIDs: [String: Int]
    let secretsByKeyID: [String: Int]
    let batches: Int

    enum CodingKeys: String, CodingKey {
        case primaryKeyID = "primary_key_id", rewrapped, total, alreadyCurrent = "already_current"
        case rewrappedFromKeyIDs = "rewrapped_from_key_ids", secretsByKeyID = "secrets_by_key_id", batches
    }

    init(primaryKeyID: String, _ report: RewrapReport) {
        self.primaryKeyID = primaryKeyID
        rewrapped = report.rewrapped
        total = report.total
        alreadyCurrent = report.alreadyCurrent
        rewrappedFromKeyIDs = report.rewrappedFromKeyIDs
        secretsByKeyID = report.secretsByKeyID
        batches = report.batches
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }
}
