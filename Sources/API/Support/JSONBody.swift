import Domain
import Foundation
import Hummingbird
import NIOCore

/// A JSON object read from a request body, checked strictly: right content type, size limit,
/// no unknown fields, and a precise message for each missing or mistyped field.
struct JSONBody {
    let fields: [String: JSONValue]

    /// The deepest nesting of arrays and objects a body may have (the body itself is level 1).
    static let maxDepth = 32

    /// Reads the body of `request` as a JSON object whose keys are all in `allowed`.
    static func read(_ request: Request, maxBytes: Int, allowed: Set<String>, maxDepth: Int = Self.maxDepth) async throws -> JSONBody {
        let contentType = request.headers[.contentType] ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard mediaType == "application/json" else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           "the request body must be JSON, sent with Content-Type: application/json")
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "payload_too_large", "the request body is larger than \(maxBytes) bytes")
        }
        // Nesting is bounded before any recursive work: Foundation's parser takes time that grows faster than
        // the depth (issue 10, finding 4). No request of this API needs more than a few levels.
        guard JSONValue.nestingDepth(of: buffer.readableBytesView, atMost: maxDepth) <= maxDepth else {
            throw APIError.badRequest("the request body is nested deeper than \(maxDepth) levels", code: "too_deep")
        }
        guard let value = JSONValue.parse(Data(buffer.readableBytesView)) else {
            throw APIError.badRequest("the request body is not valid JSON", code: "malformed_json")
        }
        guard case .object(let fields) = value else {
            throw APIError.badRequest("the request body must be a JSON object, not \(value.typeName)", code: "invalid_body")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError(.badRequest, code: "unknown_field", "unknown field '\(unknown)'; allowed: \(allowed.sorted().joined(separator: ", "))",
                           details: ["field": unknown])
        }
        return JSONBody(fields: fields)
    }

    func has(_ name: String) -> Bool { fields[name] != nil }

    func requiredString(_ name: String) throws -> String {
        guard let value = fields[name], value != .null else { throw Self.missing(name) }
        guard case .string(let s) = value else { throw Self.wrongType(name, expected: "a string", got: value) }
        return s
    }

    /// Absent → nil; `null` → .some(nil); a string → .some(string).
    func optionalString(_ name: String) throws -> String?? {
        guard let value = fields[name] else { return nil }
        switch value {
        case .null: return .some(nil)
        case .string(let s): return .some(s)
        default: throw Self.wrongType(name, expected: "a string or null", got: value)
        }
    }

    /// Absent → nil; `null` → .some(nil); an object → .some(object).
    func optionalObject(_ name: String) throws -> JSONValue?? {
        guard let value = fields[name] else { return nil }
        switch value {
        case .null: return .some(nil)
        case .object: return .some(value)
        default: throw Self.wrongType(name, expected: "an object or null", got: value)
        }
    }

    static func missing(_ name: String) -> APIError {
        APIError(.badRequest, code: "missing_field", "field '\(name)' is required", details: ["field": name])
    }

    static func wrongType(_ name: String, expected: String, got: JSONValue) -> APIError {
        APIError(.badRequest, code: "invalid_field", "field '\(name)' must be \(expected), not \(got.typeName)", details: ["field": name])
    }
}
