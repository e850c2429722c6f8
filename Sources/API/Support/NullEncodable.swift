/// Encodes `nil` as JSON `null` instead of leaving the key out (what synthesized `Encodable` does),
/// so every response has the same keys and clients can rely on the documented shape.
@propertyWrapper
struct NullEncodable<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
