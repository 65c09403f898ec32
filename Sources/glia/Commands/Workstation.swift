// glia tui (the default subcommand): opens the workstation on a dataset, the phantom set by default.
import ArgumentParser
import Foundation
import GliaData
import GliaTraining
import GliaTUI

struct Workstation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tui",
        abstract: "Open the workstation (what plain `glia` does).",
        discussion: """
            Browses a dataset's patients and slices and shows slices with their masks. Without --data it \
            opens the phantom dataset (created in the cache folder on first use). The shipped models \
            (Models/README.md) predict P(tumor) and masks in the background and are offered in triage; \
            patients they were trained or validated on are tagged train / val. Press ? inside for keys.
            """)

    @Option(help: "A kaggle_3m-style folder or a seed CSV (default: the phantom dataset).")
    var data: String?

    @Option(help: "Colour theme: a name from the Themes folder (dark, light, high-contrast) or a .theme file.")
    var theme: String?

    @Flag(help: "Draw with ASCII characters only (automatic when the locale is not UTF-8).")
    var ascii = false

    @OptionGroup var graphicsOptions: GraphicsOptions

    @OptionGroup var workspace: WorkspaceOptions

    func run() async throws {
        try CursesScreen.checkTerminal()
        let url: URL
        let title: String
        if let data {
            url = try UserPath.existing(data, as: .any)
            title = url.lastPathComponent
        } else {
            url = try Phantom.ensureDefaultDataset()
            title = "phantom"
        }
        // Indexing and the mask scan take a moment on the full dataset; say what is happening.
        FileHandle.standardError.write(Data("glia: reading \(url.path)\n".utf8))
        let index = try DatasetIndex.load(url)
        guard !index.patients.isEmpty else { throw UserPathError(path: url.path, message: "no patients found in this dataset") }
        let source = DatasetSource(index: index, title: title)
        let environment = ProcessInfo.processInfo.environment
        let directories = Theme.searchDirectories(environment: environment, executable: Bundle.main.executableURL
                                                  ?? URL(fileURLWithPath: CommandLine.arguments[0]))
        var chosen = Theme.dark
        var message: (text: String, isError: Bool)?
        if let theme {
            do {
                chosen = try Theme.load(named: theme, searchDirectories: directories)
            } catch {
                message = ("using the default theme: \(error)", true)
            }
        }
        let forceASCII = ascii
        // Without a workspace the browser still works; dashboard and triage say why they cannot.
        let opened = Result { try workspace.open() }
        let dataPath = url.path
        let keyFile = KeyTable.keyFileURL(environment: environment)
        var keys = KeyTable.standard
        do {
            keys = try KeyTable.load(from: keyFile)
        } catch {
            // The theme's error, if any, is shown first; this one is as important.
            message = message ?? ("using the default keys: \(error)", true)
        }
        let chosenKeys = keys
        let initialMessage = message
        // Before curses takes the terminal: the query reads the terminal's replies itself.
        let support = GraphicsDetector.detect(request: graphicsOptions.request, environment: environment,
                                              glyphs: forceASCII ? .ascii : .unicode)
        let interrupted = try await MainActor.run {
            let workbench = Workbench(workspace: try? opened.get(), workspaceProblem: opened.failureDescription,
                                      dataPath: dataPath, source: source, shipped: ShippedModels.locate())
            let screen = try CursesScreen(forceASCII: forceASCII, environment: environment)
            defer { screen.close() }
            if !support.pixelModes.isEmpty { screen.enableImages(tmux: support.tmux) }
            let app = App(screen: screen, source: source, theme: chosen, themeDirectories: directories, message: initialMessage,
                          workbench: workbench, keys: chosenKeys, keyFile: keyFile, graphics: support)
            app.run()
            PredictionCache.stopAll()
            return app.interrupted
        }
        if interrupted {
            // Ended by Ctrl-C: die of SIGINT, so the shell sees an interrupted command (status 130).
            // Sent to the process, not with raise(): this task's thread may have SIGINT blocked.
            signal(SIGINT, SIG_DFL)
            kill(getpid(), SIGINT)
            pause()
        }
    }
}

extension Result {
    /// The error's one-line description, nil on success.
    fileprivate var failureDescription: String? {
        if case .failure(let error) = self { return "\(error)" }
        return nil
    }
}
