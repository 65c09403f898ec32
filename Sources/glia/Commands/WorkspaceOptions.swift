// --workspace, shared by every command that reads or writes runs and triage decisions.
import ArgumentParser
import Foundation
import GliaTraining

struct WorkspaceOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Workspace folder holding runs and the history database.",
        discussion: "Default: $GLIA_WORKSPACE, else $XDG_DATA_HOME/glia, else ~/.local/share/glia.",
        valueName: "dir"))
    var workspace: String?

    /// The workspace folder to use.
    var url: URL { workspace.map { URL(fileURLWithPath: $0) } ?? Workspace.defaultURL() }

    /// Opens the workspace, turning failures into one-line errors that name the folder.
    func open() throws -> Workspace {
        do {
            return try Workspace(url: url)
        } catch let error as WorkspaceError {
            throw CommandError(error.description)
        } catch {
            throw CommandError("cannot open workspace \(url.path): \(error)")
        }
    }
}
