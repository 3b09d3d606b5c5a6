/// What a router found for a request's method and path, decided once per request and kept in its
/// `RequestContext` (`route`): the head hook, every middleware, the handler and the server's
/// response hook read this one record, so nothing outside the router matches a path again.
public struct RouteMatch: Sendable {
    /// The pattern of the route the path belongs to (`/v1/accounts/{email}`): the served route, or,
    /// when the method is not served there (405, 501), the first route of another method on that
    /// path. Nil when no route has the path (404). Logs and metrics name this, never the raw path.
    public let pattern: String?
    /// Path parameters of the served route, percent-decoded (`{email}` → `a@b.com`); empty otherwise.
    public let parameters: [String: String]
    /// Position of the served route in its router; nil when no handler serves the request.
    let routeIndex: Int?
    /// The answer the router gives instead of a handler's (400, 405, 501); nil with no route: 404.
    let failure: HTTPError?

    /// Whether a route's handler serves the request (false for a 400, 404, 405 or 501).
    public var isRouted: Bool { routeIndex != nil }
}

/// A route's path pattern, split once when the route is added.
enum RouteSegment: Sendable, Equatable {
    case literal([UInt8])
    case parameter(String)

    static func parse(_ pattern: String) -> [RouteSegment] {
        pattern.split(separator: "/", omittingEmptySubsequences: true).map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(Array(part.utf8))
        }
    }
}

/// The non-empty `/`-separated segments of a raw path, as byte ranges: matching walks the path's
/// contiguous bytes in place (no `String.split`, which walks grapheme clusters, no string index
/// arithmetic, which showed in profiles, and no array per request).
struct PathSegments: IteratorProtocol {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func next() -> Range<Int>? {
        let slash = UInt8(ascii: "/")
        while position < bytes.count, bytes[position] == slash { position += 1 }
        guard position < bytes.count else { return nil }
        let start = position
        while position < bytes.count, bytes[position] != slash { position += 1 }
        return start..<position
    }
}

extension Router {
    /// How one route's segments meet a path.
    enum SegmentVerdict {
        /// Every literal and the segment count agree: the path is this route's.
        case matches
        case differs
        /// A parameter segment's percent-encoding is malformed, met before any difference.
        case malformed
    }

    /// Compares `segments` with `path` (which has as many segments), decoding the parameter
    /// segments into `parameters` when asked. As routing always has, a malformed escape in a
    /// parameter ends the comparison at once (a 400), even if a later literal would differ.
    static func compare(_ segments: [RouteSegment], _ path: UnsafeBufferPointer<UInt8>,
                        decodeInto parameters: inout [String: String]?) -> SegmentVerdict {
        var parts = PathSegments(path)
        for segment in segments {
            guard let range = parts.next() else { return .differs }
            switch segment {
            case .literal(let literal):
                guard range.count == literal.count, path[range].elementsEqual(literal) else { return .differs }
            case .parameter(let name):
                guard parameters != nil else { continue }
                let raw = String(decoding: UnsafeBufferPointer(rebasing: path[range]), as: UTF8.self)
                guard let decoded = PercentDecoding.decode(raw) else { return .malformed }
                parameters![name] = decoded
            }
        }
        return .matches
    }

    static func segmentCount(_ path: UnsafeBufferPointer<UInt8>) -> Int {
        var parts = PathSegments(path)
        var count = 0
        while parts.next() != nil { count += 1 }
        return count
    }
}
