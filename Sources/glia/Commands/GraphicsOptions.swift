// --graphics, shared by the workstation and `glia show`.
import ArgumentParser
import GliaTUI

struct GraphicsOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How slices are drawn: \(GraphicsRequest.choices) (auto: what the terminal is found to support).",
                               valueName: "mode"))
    var graphics = "auto"

    /// The mode asked for (validated before a command runs).
    var request: GraphicsRequest { GraphicsRequest(argument: graphics) ?? .auto }

    func validate() throws {
        guard GraphicsRequest(argument: graphics) != nil else {
            throw ValidationError("--graphics must be one of \(GraphicsRequest.choices) (got '\(graphics)')")
        }
    }
}
