import Mustache

/// The dashboard's templates, compiled into the binary (`Templates/`, embedded by the package manager), rendered
/// with Mustache.
///
/// HTML is escaped by construction: every value reaches a page through `{{name}}`, which escapes `< > & " '`; the
/// templates never use the unescaped forms (`{{{name}}}`, `{{&name}}`; a test reads every template to hold this), and
/// no view holds markup — charts and badges are templates too, fed with numbers. What a page shows comes only from
/// its view (the types in `Views.swift`).
public struct Pages: Sendable {
    let library: MustacheLibrary

    /// The templates by name, as `{{>name}}` and `{{<name}}` refer to them.
    public static let templates: [String: [UInt8]] = [
        "layout": PackageResources.layout_mustache,
        "sign-in": PackageResources.sign_in_mustache,
        "watchlist": PackageResources.watchlist_mustache,
        "row": PackageResources.row_mustache,
        "row-fragment": PackageResources.row_fragment_mustache,
        "repository": PackageResources.repository_mustache,
        "confirm-delete": PackageResources.confirm_delete_mustache,
        "admin": PackageResources.admin_mustache,
        "message": PackageResources.message_mustache,
        "alert-fields": PackageResources.alert_fields_mustache,
        "line-chart": PackageResources.line_chart_mustache,
        "bar-chart": PackageResources.bar_chart_mustache,
        "badge": PackageResources.badge_mustache,
    ]

    /// Parses every template; a template that does not parse stops the process at start, not a request later.
    public init() {
        var library = MustacheLibrary()
        for (name, bytes) in Self.templates {
            do {
                try library.register(String(decoding: bytes, as: UTF8.self), named: name)
            } catch {
                fatalError("dashboard template \(name) does not parse: \(error)")
            }
        }
        self.library = library
    }

    public func render(_ view: SignInPage) -> String { render(view, "sign-in") }
    public func render(_ view: WatchlistPage) -> String { render(view, "watchlist") }
    public func render(_ view: RepositoryPage) -> String { render(view, "repository") }
    public func render(_ view: ConfirmDeletePage) -> String { render(view, "confirm-delete") }
    public func render(_ view: AdminPage) -> String { render(view, "admin") }
    public func render(_ view: MessagePage) -> String { render(view, "message") }
    public func render(_ view: Badge) -> String { render(view, "badge") }
    /// One watchlist row alone (`<tr>…</tr>`), for the script that refreshes a row when its entry is done.
    public func renderRow(_ row: WatchlistRow) -> String { render(RowFragment(row: row), "row-fragment") }

    struct RowFragment { let row: WatchlistRow }

    private func render(_ view: Any, _ name: String) -> String {
        // Every name is registered in init.
        library.render(view, withTemplate: name) ?? ""
    }

    /// The stylesheet and the script, served under `/assets/`.
    public static let stylesheet = String(decoding: PackageResources.dashboard_css, as: UTF8.self)
    public static let script = String(decoding: PackageResources.live_js, as: UTF8.self)
    /// The tab icon (so the browser does not ask for a `/favicon.ico` that is not there).
    public static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#1a7f37"/>\
        <path d="M4 8.5l2.5 2.5L12 5.5" stroke="#fff" stroke-width="2" fill="none"/></svg>
        """
}
