// The workstation: layout, focus, key map, event loop.
//
// Screen layout (rows top to bottom): a title bar, the panes, a status bar. Left column: patient
// list over slice list; right: the viewer. Every event marks the frame dirty and the whole frame is
// rebuilt into a `CellBuffer`; the screen writes only the cells that changed, so rebuilding is cheap.
// While idle (no input for 150 ms) the neighbouring slices are decoded ahead.
import Foundation
import GliaData

/// The workstation application.
@MainActor
public final class App {
    /// Which pane has the keyboard.
    public enum Focus: Int, CaseIterable, Sendable { case patients, slices, viewer }

    /// Smallest terminal the layout works in; below it the screen says so.
    public static let minimumColumns = 64, minimumRows = 18
    /// The browser help's mouse lines, each short enough for the overlay at 80 columns.
    static let mouseHelp = ["Click: a row or the readout cursor. Wheel: scroll.",
                            "Drag on the image: right = wider window, down = higher level."]

    /// The screen drawn on and read from.
    public let screen: any Screen
    /// Patient and slice lists (selection, filters, sort orders).
    public internal(set) var browser: BrowserPane
    /// Viewer settings (channel, window/level, zoom, overlay).
    public internal(set) var viewer = ViewerPane()
    /// The pane that receives keys.
    public internal(set) var focus = Focus.patients
    /// Whether the viewer takes the whole body of the screen (the browser's lists hidden).
    public internal(set) var viewerMaximized = false
    /// The page of the key overlay shown, nil when it is closed.
    public internal(set) var helpPage: Int?
    /// Whether the key overlay is open.
    public var showingHelp: Bool { helpPage != nil }
    /// Whether quitting waits for an answer: stop the live run, keep it training, or stay.
    public internal(set) var quitQuestion = false
    /// True when the user quit with Ctrl-C (the caller then ends as interrupted, status 130).
    public internal(set) var interrupted = false
    /// The filter text being typed, or nil when not typing one.
    public internal(set) var filterInput: String?
    /// A one-line note in the status bar (theme changes, errors); cleared by the next key.
    public internal(set) var message: (text: String, isError: Bool)?
    /// Key bindings of every mode.
    public let keys: KeyTable
    private let keyFileNote: String
    /// Colours in use.
    public private(set) var theme: Theme
    /// The graphics modes this terminal supports.
    public let graphics: GraphicsSupport
    /// How images are drawn now (cycled by the graphics key).
    public internal(set) var graphicsMode: GraphicsMode
    /// Images of the last frame for the screen to send with a pixel protocol (none while an
    /// overlay covers them).
    public private(set) var images: [ImagePlacement] = []
    /// False once the user quit; `run()` returns then.
    public internal(set) var isRunning = true
    private let themeDirectories: [URL]
    private var cache = SliceCache(capacity: 32)
    /// Dashboard and triage modes (nil: the browser alone).
    public let workbench: Workbench?
    /// Position in the theme cycle (built-in dark first, then the files found), kept apart from
    /// `theme.name` because a broken file falls back to dark.
    private var themeCycle = 0

    /// A workstation on `screen` showing `source`. `message` starts in the status bar (e.g. a
    /// theme or key-file error found before the screen opened).
    public init(screen: any Screen, source: any SliceSource, theme: Theme, themeDirectories: [URL],
                message: (text: String, isError: Bool)? = nil, workbench: Workbench? = nil, keys: KeyTable = .standard, keyFile: URL? = nil,
                graphics: GraphicsSupport = .textOnly) {
        self.screen = screen
        self.graphics = graphics
        graphicsMode = screen.glyphMode == .ascii ? .ascii : graphics.mode
        self.keys = keys
        keyFileNote = keyFile.map { "Keys can be remapped in \($0.path) (README: Keys)." } ?? "Keys can be remapped in a key file (README: Keys)."
        self.workbench = workbench
        self.browser = BrowserPane(source: source)
        self.theme = theme
        self.themeDirectories = themeDirectories
        self.message = message ?? workbench?.message ?? graphics.note.map { (text: $0, isError: false) }
        themeCycle = Self.themeNames(Theme.available(in: themeDirectories)).firstIndex(of: theme.name) ?? 0
    }

    /// Runs until the user quits.
    public func run() {
        var dirty = true
        while isRunning {
            if dirty {
                let built = frame()
                screen.present(built, images: images)
                dirty = false
            }
            if let event = screen.nextEvent(timeoutMilliseconds: workbench?.pollMilliseconds ?? 150) {
                handle(event)
                if let key = browser.selectedKey { workbench?.browserFocus(key) }
                dirty = true
            } else {
                prefetchNeighbours()
            }
            if workbench?.tick() == true { dirty = true }
            if workbench?.detachFinished == true { isRunning = false }
        }
    }

    private var style: PaneStyle {
        PaneStyle(theme: theme, glyphs: screen.glyphMode, graphics: graphicsMode, cellSize: graphics.cellSize)
    }

    // MARK: Layout

    struct Layout {
        var patients: Rect
        var slices: Rect
        var viewer: Rect
    }

    func layout(columns: Int, rows: Int) -> Layout {
        let body = rows - 2
        if viewerMaximized {
            let none = Rect(x: 0, y: 1, width: 0, height: 0)
            return Layout(patients: none, slices: none, viewer: Rect(x: 0, y: 1, width: columns, height: body))
        }
        let left = max(44, min(columns - 36, columns * 2 / 5))
        let top = max(6, body * 9 / 20)
        return Layout(patients: Rect(x: 0, y: 1, width: left, height: top),
                      slices: Rect(x: 0, y: 1 + top, width: left, height: body - top),
                      viewer: Rect(x: left, y: 1, width: columns - left, height: body))
    }

    // MARK: Drawing

    /// The whole frame for the screen's current size.
    public func frame() -> CellBuffer {
        let columns = screen.columns, rows = screen.rows
        var buffer = CellBuffer(columns: columns, rows: rows, fill: Cell(" ", foreground: theme.foreground, background: theme.background))
        images = []
        guard columns >= Self.minimumColumns, rows >= Self.minimumRows else {
            let lines = ["Terminal too small: \(columns)x\(rows)",
                         "Glia needs at least \(Self.minimumColumns)x\(Self.minimumRows).",
                         "Enlarge the window, or press q to quit."]
            for (i, line) in lines.enumerated() {
                buffer.text(line, x: max(0, (columns - line.count) / 2), y: max(0, rows / 2 - 1) + i,
                            foreground: i == 0 ? theme.error : theme.foreground, background: theme.background,
                            attributes: i == 0 ? .bold : [])
            }
            return buffer
        }
        let l = layout(columns: columns, rows: rows)
        if let workbench {
            // Copy-on-write snapshots: cheap per frame, and the lists never see a half-updated cache.
            browser.updateModelOutput(predictions: workbench.browserCache?.results ?? [:], decisions: workbench.browserDecisions,
                                      version: workbench.browserCache?.version ?? -1)
            browser.seenPatients = workbench.seenPatients
        }
        if !viewerMaximized {
            browser.drawPatients(into: &buffer, rect: l.patients, focused: focus == .patients, style: style)
            browser.drawSlices(into: &buffer, rect: l.slices, focused: focus == .slices, style: style)
        }
        let (slice, id, caption, problem, overlay) = currentSlice()
        viewer.draw(into: &buffer, rect: l.viewer, focused: focus == .viewer, style: overlay?.style(style) ?? style, slice: slice,
                    sliceID: id, caption: caption + (overlay?.captionNote ?? ""), message: problem)
        drawTitle(into: &buffer, columns: columns)
        drawStatus(into: &buffer, columns: columns, y: rows - 1)
        workbench?.draw(into: &buffer, rect: Rect(x: 0, y: 1, width: columns, height: rows - 2), statusY: rows - 1, style: style, keys: keys)
        drawQuitLine(into: &buffer, columns: columns, y: rows - 1)
        // The viewer whose image is on screen: the browser's, or triage's over it; none on the dashboard.
        switch workbench?.mode ?? .browse {
        case .browse: images = viewer.placements
        case .triage:
            images = workbench?.triage.session == nil ? [] : workbench?.triage.viewer.placements ?? []
        case .dashboard: images = []
        }
        if let page = helpPage {
            images = []
            let modes = workbench?.activeModes.map { $0 + [.global] }
                ?? (viewer.options.cursor != nil ? [.cursor] : []) + [.browser, .lists, .viewer, .image, .global]
            let notes = workbench?.mode == .browse || workbench == nil ? Self.mouseHelp : []
            let pages = HelpOverlay.draw(HelpOverlay.lines(keys, modes: modes, glyphs: style.glyphs), page: page,
                                         notes: notes + [keyFileNote], into: &buffer,
                                         area: Rect(x: 0, y: 1, width: columns, height: rows - 2), style: style)
            helpPage = min(page, pages - 1)
        }
        return buffer
    }

    private func currentSlice() -> (LoadedSlice?, String, String, String?, PredictionOverlay?) {
        guard let patient = browser.selectedPatient, let slice = browser.selectedSlice else {
            return (nil, "", "Viewer", browser.patientRows.isEmpty ? "no patient matches the filter" : "no slice selected", nil)
        }
        let caption = "\(patient.id)  slice \(slice.number)/\(patient.slices.count)"
            + (slice.hasTumor == true ? "  tumor" : "")
        let key = SliceKey(patient: patient.id, slice: slice.number)
        switch cache.slice(patient: patient.id, number: slice.number, from: browser.source) {
        case .success(var loaded):
            // As in triage (PredictionOverlay): empty where the classifier says no, or the segmenter's own mask dimmed.
            let overlay = PredictionOverlay.of(browser.predictions[key], width: loaded.image.width, height: loaded.image.height,
                                               showUnflagged: workbench?.showUnflaggedMask ?? false)
            loaded.prediction = overlay?.mask
            let id = SliceCache.key(patient: patient.id, slice: slice.number) + (overlay?.cacheSuffix ?? "")
            return (loaded, id, caption, nil, overlay)
        case .failure(let error): return (nil, "", caption, "cannot show this slice: \(error.description)", nil)
        }
    }

    private func drawTitle(into buffer: inout CellBuffer, columns: Int) {
        buffer.fill(Rect(x: 0, y: 0, width: columns, height: 1), with: Cell(" ", foreground: theme.statusForeground, background: theme.statusBackground))
        let source = browser.source
        let sliceCount = source.patients.reduce(0) { $0 + $1.slices.count }
        var x = 1
        x += buffer.text("Glia", x: x, y: 0, foreground: theme.focus.readable(on: theme.statusBackground), background: theme.statusBackground, attributes: .bold)
        x += buffer.text("  \(source.title)", x: x, y: 0, foreground: theme.statusForeground, background: theme.statusBackground, attributes: .bold)
        buffer.text("  \(source.patients.count) patients, \(sliceCount) slices", x: x, y: 0,
                    foreground: theme.statusForeground, background: theme.statusBackground)
        let right = "theme \(theme.name) "
        buffer.text(right, x: columns - right.count, y: 0, foreground: theme.muted.blended(with: theme.statusForeground, alpha: 0.5),
                    background: theme.statusBackground)
    }

    private func drawStatus(into buffer: inout CellBuffer, columns: Int, y: Int) {
        let bg = theme.statusBackground, fg = theme.statusForeground
        buffer.fill(Rect(x: 0, y: y, width: columns, height: 1), with: Cell(" ", foreground: fg, background: bg))
        if let input = filterInput {
            let target = focus == .patients ? "patients" : "slices"
            var x = 1
            x += buffer.text("Filter \(target): ", x: x, y: y, foreground: theme.accent.readable(on: bg), background: bg, attributes: .bold)
            x += buffer.text(input, x: x, y: y, foreground: fg, background: bg)
            buffer.put(Cell(" ", foreground: bg, background: fg), x: x, y: y)
            let hint = "Enter keep  Esc clear "
            buffer.text(hint, x: columns - hint.count, y: y, foreground: theme.muted, background: bg)
            return
        }
        // The selection keeps at least half of the bar; a long message takes all of it.
        var hintWidth = HintBar.width(keys, modes: activeModes, width: columns / 2, glyphs: style.glyphs)
        if let message, message.text.count + 3 > columns - hintWidth { hintWidth = 0 }
        if hintWidth > 0 { HintBar.draw(keys, modes: activeModes, into: &buffer, y: y, width: columns / 2, style: style) }
        let x = 1
        if let message {
            buffer.text(message.text, x: x, y: y, maxWidth: columns - 2, foreground: (message.isError ? theme.error : theme.accent).readable(on: bg),
                        background: bg, attributes: .bold)
        } else if let patient = browser.selectedPatient {
            var parts = [patient.id]
            // Right after the id, so it survives the narrow bar's truncation.
            if let seen = browser.seenPatients[patient.id] { parts.append("seen by shipped models (\(seen))") }
            parts.append(patient.institution)
            if let slice = browser.selectedSlice {
                parts.append("slice \(slice.number)")
                parts.append(slice.hasTumor == true ? "tumor \(slice.tumorArea ?? 0) px" : slice.hasTumor == false ? "no tumor" : "mask unknown")
                if let p = browser.probability(patient: patient.id, slice: slice) { parts.append("P \(BrowserPane.probabilityText(p))") }
            }
            buffer.text(parts.joined(separator: style.glyphs == .unicode ? " · " : " | "), x: x, y: y,
                             maxWidth: max(0, columns - hintWidth - 3),
                             foreground: fg, background: bg)
        }
    }

    /// The quit question, or the progress of a run being handed to the background, over the status bar.
    private func drawQuitLine(into buffer: inout CellBuffer, columns: Int, y: Int) {
        let text: String
        if quitQuestion {
            text = "A run is training (\(workbench?.liveRunID ?? "starting")): keep it training in the background, stop it, or stay?"
        } else if let status = workbench?.detachStatus {
            text = status
        } else {
            return
        }
        let bg = theme.statusBackground
        buffer.fill(Rect(x: 0, y: y, width: columns, height: 1), with: Cell(" ", foreground: theme.statusForeground, background: bg))
        let hintWidth = quitQuestion ? HintBar.draw(keys, modes: [.quit], into: &buffer, y: y, width: columns / 2, style: style) : 0
        buffer.text(text, x: 1, y: y, maxWidth: max(0, columns - hintWidth - 2), foreground: theme.accent.readable(on: bg),
                    background: bg, attributes: .bold)
    }

    /// Next graphics mode (pixel protocols found, then the text modes); says which in the status bar.
    func cycleGraphics() {
        graphicsMode = graphics.next(after: graphicsMode, glyphs: screen.glyphMode)
        message = ("graphics \(graphicsMode.label)", false)
    }

    /// Next theme among the built-in dark one and the theme files found; a broken file leaves an
    /// error naming its line in the status bar and falls back to the default.
    func cycleTheme() {
        let files = Theme.available(in: themeDirectories)
        let names = Self.themeNames(files)
        themeCycle = (themeCycle + 1) % names.count
        let next = names[themeCycle]
        guard files.contains(next) else {
            theme = Theme.dark
            message = ("theme dark", false)
            return
        }
        do {
            theme = try Theme.load(named: next, searchDirectories: themeDirectories)
            message = ("theme \(next)", false)
        } catch {
            theme = Theme.dark
            message = ("using the default theme: \(error)", true)
        }
    }

    /// The theme cycle: the built-in dark theme, then the files found.
    private static func themeNames(_ files: [String]) -> [String] { ["dark"] + files.filter { $0 != "dark" } }

    /// Decodes the slices either side of the selection into the cache while the user is idle.
    private func prefetchNeighbours() {
        guard let patient = browser.selectedPatient, let slice = browser.selectedSlice,
              let position = patient.slices.firstIndex(of: slice) else { return }
        for offset in [1, -1, 2, -2] {
            let i = position + offset
            guard patient.slices.indices.contains(i) else { continue }
            let number = patient.slices[i].number
            if !cache.contains(patient: patient.id, slice: number) {
                _ = cache.slice(patient: patient.id, number: number, from: browser.source)
                return
            }
        }
    }
}
