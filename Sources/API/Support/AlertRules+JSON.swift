import Domain
import HTTPTypes

extension AlertRules {
    /// Reads the `alerts` of a request body (nil or null: the seed's defaults), or throws a 422 naming the field.
    static func validated(_ value: JSONValue?) throws -> AlertRules {
        guard case .object(let object)? = value else { return .seedDefaults }
        do {
            return try AlertRules(parsing: object)
        } catch {
            throw APIError(.unprocessableContent, code: "invalid_alerts", error.description, details: ["field": error.field])
        }
    }

    /// The normalised rules as JSON: what is stored and shown.
    var json: JSONValue { .object(object) }
}
