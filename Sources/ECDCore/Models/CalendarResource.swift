/// A resource calendar (a room, a vehicle) a service account can see, as `GET
/// /v1/service-accounts/{id}/resources` lists it: the core's own type, so ECDApp needs nothing of
/// the Cronofy client to answer.
public struct CalendarResource: Sendable, Codable, Equatable {
    public var email: String
    public var name: String

    public init(email: String, name: String) {
        self.email = email
        self.name = name
    }
}
