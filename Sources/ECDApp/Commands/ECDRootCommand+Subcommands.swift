import ArgumentParser

extension ECDRootCommand {
    /// Every subcommand, in the order `ecd --help` lists them.
    static let subcommandList: [any ParsableCommand.Type] = [
        ServeCommand.self,
        DemoCommand.self,
        SimulatorCommand.self,
        CheckConfigCommand.self,
        MigrateCommand.self,
        MigrateStorageCommand.self,
        KeysCommand.self,
        BackupCommand.self,
        ServiceAccountsCommand.self,
        AccountsCommand.self,
        TokenCommand.self,
        ConnectLinkCommand.self,
        EventsCommand.self,
        AuditCommand.self,
    ]
}
