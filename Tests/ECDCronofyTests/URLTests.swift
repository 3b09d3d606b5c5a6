import Foundation
import Testing
@testable import ECDCronofy

@Suite struct URLTests {
    @Test(arguments: [
        (DataCenter.us, "https://api.cronofy.com", "https://app.cronofy.com"),
        (.uk, "https://api-uk.cronofy.com", "https://app-uk.cronofy.com"),
        (.de, "https://api-de.cronofy.com", "https://app-de.cronofy.com"),
        (.au, "https://api-au.cronofy.com", "https://app-au.cronofy.com"),
        (.ca, "https://api-ca.cronofy.com", "https://app-ca.cronofy.com"),
        (.sg, "https://api-sg.cronofy.com", "https://app-sg.cronofy.com"),
    ])
    func dataCenterHosts(dc: DataCenter, api: String, app: String) {
        #expect(dc.apiURL.absoluteString == api)
        #expect(dc.appURL.absoluteString == app)
        let config = CronofyConfiguration(clientID: "c", clientSecret: "s", dataCenter: dc)
        #expect(config.apiURL == dc.apiURL)
        #expect(config.appURL == dc.appURL)
    }

    @Test func parsesIdentifiers() {
        #expect(DataCenter(identifier: "DE") == .de)
        #expect(DataCenter(identifier: " sg ") == .sg)
        #expect(DataCenter(identifier: "") == .us)
        #expect(DataCenter(identifier: "eu") == nil)
    }

    @Test func allSixDataCentersExist() {
        #expect(Set(DataCenter.allCases.map(\.rawValue)) == ["us", "uk", "de", "au", "ca", "sg"])
    }

    @Test func defaults() {
        let config = CronofyConfiguration(clientID: "c", clientSecret: "s")
        #expect(config.apiURL.absoluteString == "https://api.cronofy.com")
        #expect(config.userAgent == "ecd/0.1 (+Enterprise Connect daemon)")
        #expect(config.requestTimeout == .seconds(15))
    }

    @Test func configurationDescriptionHidesSecret() {
        let config = CronofyConfiguration(clientID: "cid", clientSecret: Fixture.clientSecret)
        #expect(!config.description.contains(Fixture.clientSecret))
    }

    @Test(arguments: [
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000/oauth/token"),
        ("http://127.0.0.1:9000/", "http://127.0.0.1:9000/oauth/token"),
        ("http://127.0.0.1:9000/sim", "http://127.0.0.1:9000/sim/oauth/token"),
        ("http://127.0.0.1:9000/sim/", "http://127.0.0.1:9000/sim/oauth/token"),
        ("https://proxy.example/a/b//", "https://proxy.example/a/b/oauth/token"),
        ("https://api-de.cronofy.com", "https://api-de.cronofy.com/oauth/token"),
    ])
    func joinsPathsOntoOverriddenBases(base: String, expected: String) {
        #expect(URLJoin.join(URL(string: base)!, "/oauth/token").absoluteString == expected)
    }

    @Test func overriddenBaseURLsAreUsedForCalls() async throws {
        let transport = RecordingTransport([
            .status(200, #"{"sub":"ser_1"}"#),
            .status(200, #"{"resources":[]}"#),
        ])
        let config = CronofyConfiguration(clientID: "c", clientSecret: "s", dataCenter: .de,
                                          apiURL: URL(string: "http://127.0.0.1:9123/prefix/")!,
                                          appURL: URL(string: "http://127.0.0.1:9123/prefix")!)
        let client = Fixture.client(transport, configuration: config)
        _ = try await client.userInfo(accessToken: "t")
        _ = try await client.resources(accessToken: "t")
        #expect(transport.requests.map(\.url.absoluteString) == [
            "http://127.0.0.1:9123/prefix/v1/userinfo", "http://127.0.0.1:9123/prefix/v1/resources",
        ])
        let authorize = client.enterpriseConnectAuthorizeURL(redirectURI: "r", scope: "s", delegatedScope: "d", state: "x")
        #expect(authorize.absoluteString.hasPrefix("http://127.0.0.1:9123/prefix/enterprise_connect/oauth/authorize?"))
        #expect(client.apiURL.absoluteString == "http://127.0.0.1:9123/prefix/")
    }

    @Test func enterpriseConnectAuthorizeURL() {
        let client = Fixture.client(RecordingTransport([]), configuration: Fixture.configuration(app: "https://app-uk.cronofy.com"))
        let url = client.enterpriseConnectAuthorizeURL(
            redirectURI: "https://ecd.example.com/connect/callback?x=1&y=a b",
            scope: "service_account/accounts/manage service_account/resources/manage",
            delegatedScope: "read_events create_event",
            state: "st+/=~._-ä")
        #expect(url.absoluteString == "https://app-uk.cronofy.com/enterprise_connect/oauth/authorize"
            + "?response_type=code&client_id=cid_test_client"
            + "&redirect_uri=https%3A%2F%2Fecd.example.com%2Fconnect%2Fcallback%3Fx%3D1%26y%3Da%20b"
            + "&scope=service_account%2Faccounts%2Fmanage%20service_account%2Fresources%2Fmanage"
            + "&delegated_scope=read_events%20create_event"
            + "&state=st%2B%2F%3D~._-%C3%A4")
        // Round-trips through a standard parser to the original values.
        let items = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []
        let values = Dictionary(uniqueKeysWithValues: items.map { ($0.name, $0.value ?? "") })
        #expect(values["redirect_uri"] == "https://ecd.example.com/connect/callback?x=1&y=a b")
        #expect(values["state"] == "st+/=~._-ä")
        #expect(values["delegated_scope"] == "read_events create_event")
        #expect(values["response_type"] == "code")
    }

    @Test func percentEncodingLeavesOnlyUnreservedCharacters() {
        var all = ""
        for scalar in (0x20...0x7E).compactMap(Unicode.Scalar.init) { all.unicodeScalars.append(scalar) }
        let encoded = PercentEncoding.encode(all)
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%")
        #expect(encoded.allSatisfy { allowed.contains($0) })
        #expect(encoded.removingPercentEncoding == all)
        #expect(PercentEncoding.encode("a b") == "a%20b")
    }
}
