import Foundation

/// Why bytes could not be read as a Scorecard JSON v2 result.
public enum ScorecardParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing but whitespace.
    case empty
    /// Not JSON at all (the decoder's explanation, e.g. the position of the first bad character).
    case notJSON(String)
    /// JSON, but not a Scorecard result: `path` names the offending place (`checks[3].score`, or `""` for the
    /// top level), `problem` says what is wrong there.
    case wrongShape(path: String, problem: String)

    /// One line for a log or an error message.
    public var description: String {
        switch self {
        case .empty: "empty output: no Scorecard result"
        case .notJSON(let detail): "not JSON: \(detail)"
        case .wrongShape(let path, let problem):
            path.isEmpty
                ? "JSON is not a Scorecard result: \(problem)"
                : "JSON is not a Scorecard result: at \(path): \(problem)"
        }
    }
}

extension ScorecardReport {
    /// Parses what `scorecard --format=json` prints (JSON v2), pretty-printed or on one line.
    ///
    /// Tolerant of what real outputs do: `null` (or absent) `details` and `metadata`, unknown fields at the top
    /// level and in checks, an aggregate `score` written as an integer or a float, check scores written `7` or
    /// `7.0`. Rejects non-JSON with ``ScorecardParseError/notJSON(_:)`` and JSON of another shape (a missing
    /// key, a value of the wrong type, a fractional or out-of-range check score) with
    /// ``ScorecardParseError/wrongShape(path:problem:)``.
    public static func parse(_ data: Data) throws(ScorecardParseError) -> ScorecardReport {
        guard data.contains(where: { !Self.isJSONWhitespace($0) }) else { throw .empty }
        do {
            return try JSONDecoder().decode(ScorecardReport.self, from: data)
        } catch let error as DecodingError {
            throw Self.classify(error)
        } catch {
            throw .notJSON("\(error)")
        }
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func classify(_ error: DecodingError) -> ScorecardParseError {
        switch error {
        case .dataCorrupted(let context):
            // The decoder reports unparseable input as corrupted data at the top level with an underlying error.
            if context.codingPath.isEmpty, let underlying = context.underlyingError {
                return .notJSON(Self.explain(underlying))
            }
            if context.codingPath.isEmpty { return .notJSON(context.debugDescription) }
            return .wrongShape(path: Self.path(context.codingPath), problem: context.debugDescription)
        case .keyNotFound(let key, let context):
            return .wrongShape(path: Self.path(context.codingPath), problem: "missing key \"\(key.stringValue)\"")
        case .typeMismatch(let type, let context):
            return .wrongShape(path: Self.path(context.codingPath), problem: "expected \(Self.name(of: type))")
        case .valueNotFound(let type, let context):
            return .wrongShape(path: Self.path(context.codingPath), problem: "expected \(Self.name(of: type)), found null")
        @unknown default:
            return .wrongShape(path: "", problem: "\(error)")
        }
    }

    private static func explain(_ error: any Error) -> String {
        let nsError = error as NSError
        if let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return "\(error)"
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Double.Type, is Int.Type: "a number"
        case is [String].Type: "a list of strings"
        case is [Check].Type: "a list of checks"
        case is Bool.Type: "a boolean"
        case is [String: Any].Type: "an object"
        default: "\(type)"
        }
    }

    /// `checks[3].score` from a coding path.
    private static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }
}

extension ScorecardReport {
    /// The checks whose result is inconclusive (score -1): not applicable, or errored. The aggregate leaves them out.
    public var inconclusiveChecks: [Check] { checks.filter(\.isInconclusive) }

    /// The checks that failed at run time: score -1 with a reason starting `internal error:` (the official CLI
    /// then exits 1 but still prints the result).
    public var erroredChecks: [Check] { checks.filter(\.isErrored) }

    /// The aggregate recomputed from the checks with the official weights, as the CLI prints it (one decimal).
    public var recomputedScore: Double { Self.printedAggregate(of: checks) }
}

extension ScorecardReport.Check {
    /// True when the check could not run: score -1 and a reason starting `internal error:`.
    public var isErrored: Bool { score < 0 && reason.hasPrefix("internal error:") }
}
