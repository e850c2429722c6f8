import ArgumentParser

/// `repowatch`: one binary, several roles (DESIGN.md "Shape").
public struct RepoWatchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "repowatch",
        abstract: "Watch the health of source repositories.",
        subcommands: [ServeCommand.self, APICommand.self, WorkerCommand.self, MigrateCommand.self, KeysCommand.self, QueueCommand.self]
    )

    public init() {}
}
