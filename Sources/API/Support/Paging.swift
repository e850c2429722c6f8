import Hummingbird
import Settings

/// Query parameters every paged listing shares.
enum Paging {
    /// `limit`: 1 ... api.page_size_max, default api.page_size_default; 400 otherwise.
    static func limit(_ request: Request, settings: Settings) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return settings.pageSizeDefault }
        guard let n = Int(String(text)), (1...settings.pageSizeMax).contains(n) else {
            throw APIError.badRequest("limit must be an integer from 1 to \(settings.pageSizeMax)", code: "invalid_parameter")
        }
        return n
    }

    /// `cursor`, parsed by `parse`; 400 when it does not parse.
    static func cursor<T>(_ request: Request, _ parse: (String) -> T?) throws -> T? {
        guard let text = request.uri.queryParameters["cursor"] else { return nil }
        guard let value = parse(String(text)) else {
            throw APIError.badRequest("cursor must be a next_cursor value from a previous page", code: "invalid_parameter")
        }
        return value
    }

    /// One row more than the page is fetched to tell whether another page exists.
    static func page<T>(_ rows: [T], limit: Int, cursor: (T) -> String) -> (items: [T], next: String?) {
        let items = Array(rows.prefix(limit))
        return (items, rows.count > limit ? items.last.map(cursor) : nil)
    }
}
