/// Header fields in arrival order. Names compare case-insensitively (RFC 9110 §5.1); repeated
/// fields are kept, never merged, so that callers can detect duplicates (e.g. two `Host`s).
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Field = (name: String, value: String)
    private var fields: [Field]

    public init() { fields = [] }
    public init(_ fields: [Field]) { self.fields = fields }
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        for field in fields where field.name.equalsASCIICaseInsensitive(name) { return field.value }
        return nil
    }

    /// Every value of `name`, in arrival order.
    public func values(for name: String) -> [String] {
        fields.filter { $0.name.equalsASCIICaseInsensitive(name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public mutating func add(name: String, value: String) { fields.append((name, value)) }

    public mutating func reserveCapacity(_ n: Int) { fields.reserveCapacity(n) }

    /// Replaces every field named `name` with one field, or appends it.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        fields.append((name, value))
    }

    public mutating func remove(name: String) {
        fields.removeAll { $0.name.equalsASCIICaseInsensitive(name) }
    }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }
}

extension String {
    /// ASCII case-insensitive comparison, without allocating (header names are ASCII tokens).
    @inlinable
    public func equalsASCIICaseInsensitive(_ other: String) -> Bool {
        let a = self.utf8, b = other.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let lx = (x >= 65 && x <= 90) ? x | 0x20 : x
            let ly = (y >= 65 && y <= 90) ? y | 0x20 : y
            if lx != ly { return false }
        }
        return true
    }
}
