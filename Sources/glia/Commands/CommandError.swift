// Runtime failures of a command: printed as one "Error: ..." line, without the usage text that
// ArgumentParser adds to ValidationError (that one is for mistakes in the arguments themselves).
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
