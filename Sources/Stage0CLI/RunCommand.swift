struct RunCommand {
    init(arguments: [String]) throws {}
    func run() throws -> Int32 { 0 }
}
