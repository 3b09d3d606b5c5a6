import ECDSQLite

extension TokenOwner {
    /// The primary-key value for `WHERE id = ?`.
    var keyValue: any SQLValueConvertible {
        switch self {
        case .account(let rowID): return rowID
        case .serviceAccount(let id): return id
        }
    }
}
