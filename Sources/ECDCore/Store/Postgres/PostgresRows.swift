import ECDPostgres

extension TokenOwner {
    /// The primary-key value for `WHERE id = $n`.
    var postgresKey: any PostgresValueConvertible {
        switch self {
        case .account(let rowID): return rowID
        case .serviceAccount(let id): return id
        }
    }
}
