import ECDApp

/// `ecd`: all behaviour lives in ECDApp (commands, exit codes); this only hands over control.
@main
enum ECD {
    static func main() async {
        await ECDCommandLine.main()
    }
}
