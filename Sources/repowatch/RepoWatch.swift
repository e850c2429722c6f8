import ArgumentParser
import CLI

/// The executable is only this: the root command, whose subcommands live in the `CLI` target.
/// (`@main` must sit on a type of this module; `RepoWatchCommand.main()` called from here would
/// resolve to the synchronous overload.)
@main
struct RepoWatch: AsyncParsableCommand {
    static let configuration = RepoWatchCommand.configuration
}
