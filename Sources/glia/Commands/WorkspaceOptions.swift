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
        try opening { try Workspace(url: url) }
    }

    /// Opens the workspace for a command that only reads it (works on a read-only folder too).
    func openForReading() throws -> Workspace {
        try opening { try Workspace.openForReading(url: url) }
    }

    private func opening(_ body: () throws -> Workspace) throws -> Workspace {
        do {
            return try body()
        } catch let error as WorkspaceError {
            throw CommandError(error.description)
        } catch {
            throw CommandError("cannot open workspace \(url.path): \(error)")
        }
    }
}
