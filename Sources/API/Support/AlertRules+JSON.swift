import Domain
import HTTPTypes

extension AlertRules {
    /// Reads the `alerts` of a request body (nil or null: the seed's defaults), or throws a 422 naming the field.
    static func validated(_ value: JSONValue?) throws -> AlertRules {
        guard case .object(let object)? = value else { return .seedDefaults }
        do {
            return try AlertRules(parsing: object.mapValues(Value.init))
        } catch {
            throw APIError(.unprocessableContent, code: "invalid_alerts", error.description, details: ["field": error.field])
        }
    }

    /// The normalised rules as JSON: what is stored and shown.
    var json: JSONValue { .object(object.mapValues(JSONValue.init)) }
}

extension AlertRules.Value {
    init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .number(Double(value))
        case .double(let value): self = .number(value)
        case .string(let value): self = .string(value)
        case .array(let items): self = .array(items.map(Self.init))
        case .object(let fields): self = .object(fields.mapValues(Self.init))
        }
    }
}

extension JSONValue {
    init(_ value: AlertRules.Value) {
        switch value {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .number(let number):
            // Whole numbers are written as integers (`60`, not `60.0`).
            if number.rounded() == number, abs(number) < 1e15 { self = .int(Int64(number)) } else { self = .double(number) }
        case .string(let value): self = .string(value)
        case .array(let items): self = .array(items.map(Self.init))
        case .object(let fields): self = .object(fields.mapValues(Self.init))
        }
    }
}
