// The workstation's modes beyond the browser: the training dashboard (D) and triage (T). The App
// asks the workbench first for every key and, outside browse mode, lets it draw the body and the
// status bar. `tick()` is called on every turn of the event loop: it copies what background work
// (training, predictions) produced and says whether to redraw, at most every `redrawInterval`.
//
// The browser's predictions (P(tumor), the viewer's predicted mask) come from `browserCache`: the
// shipped models from the start, then the pair last opened in triage, so browsing needs no training
// and shows what triage showed. One cache at a time, so inference never runs twice on two cores.
import Foundation
import GliaTraining

/// Dashboard and triage modes, with the workspace they read and write.
@MainActor
public final class Workbench {
    /// What the body of the screen shows.
    public enum Mode: Sendable { case browse, dashboard, triage }

    /// The current mode.
    public private(set) var mode = Mode.browse
    /// Training dashboard state.
    public private(set) var dashboard = DashboardPane()
    /// Triage state.
    public private(set) var triage = TriagePane()
    /// The workspace's runs, nil when the workspace could not be opened.
    public let runStore: RunStore?
    /// Where triage decisions go.
    public let triageStore: TriageStore?
    /// Why the workspace is unavailable, if it is.
    public let workspaceProblem: String?
    /// The dataset runs are trained on (a path `RunConfiguration.dataPath` accepts).
    public let dataPath: String
    /// The slices triage walks.
    public let source: any SliceSource
    /// A one-line note for the status bar; cleared by the next key.
    public private(set) var message: (text: String, isError: Bool)?
    /// Shortest time between two redraws caused by background work.
    public var redrawInterval: TimeInterval = 0.1
    private var lastBackgroundRedraw = Date.distantPast
    private var pendingRedraw = false
    /// The shipped models, offered in triage and predicting in the browser until triage picks a pair.
    public let shipped: ShippedModels?
    /// Patients the shipped models were trained ("train") or validated ("val") on.
    public let seenPatients: [String: String]
    /// Predictions shown in the browser and viewer; nil without models.
    public private(set) var browserCache: PredictionCache?
    /// The model pair of `browserCache` ("<classifier>+<segmenter>"), whose triage decisions the browser lists.
    public private(set) var browserModelRun: String?
    /// Triage decisions of `browserModelRun`, by slice (for the browser's Triage column).
    public private(set) var browserDecisions: [SliceKey: String] = [:]
    private var seenBrowserVersion = -1

    /// A workbench on `workspace` (nil with `workspaceProblem` when it could not be opened). With
    /// `shipped` models the browser predicts at once; a broken split file leaves a note in the status bar.
    public init(workspace: Workspace?, workspaceProblem: String? = nil, dataPath: String, source: any SliceSource,
                shipped: ShippedModels? = nil) {
        runStore = workspace.map { RunStore(workspace: $0) }
        triageStore = workspace.map { TriageStore(workspace: $0) }
        self.workspaceProblem = workspaceProblem
        self.dataPath = dataPath
        self.source = source
        self.shipped = shipped
        var seen: [String: String] = [:]
        do {
            seen = try shipped?.seenPatients() ?? [:]
        } catch {
            message = ("\(error)", true)
        }
        seenPatients = seen
        triage.seenPatients = seen
        if let shipped, shipped.classifier != nil || shipped.segmenter != nil {
            let keys = source.patients.flatMap { p in p.slices.map { SliceKey(patient: p.id, slice: $0.number) } }
            browserCache = PredictionCache(classifier: shipped.classifier?.path, segmenter: shipped.segmenter?.path, store: runStore,
                                           source: source, order: keys, focus: 0)
            browserModelRun = "\(TriageModel.shippedID)+\(TriageModel.shippedID)"
            reloadBrowserDecisions()
        }
    }

    /// Re-reads the triage decisions the browser lists.
    private func reloadBrowserDecisions() {
        guard let triageStore, let browserModelRun else { return }
        let records = (try? triageStore.decisions(modelRun: browserModelRun)) ?? []
        browserDecisions = Dictionary(records.map { (SliceKey(patient: $0.patientID, slice: $0.sliceNumber), $0.decision.rawValue) },
                                      uniquingKeysWith: { _, last in last })
    }

    /// The browser's selection moved to `key`: predict nearest it first.
    public func browserFocus(_ key: SliceKey) { browserCache?.setFocus(key) }

    /// How long the event loop may wait for input: short while background work may change the screen.
    public var pollMilliseconds: Int {
        switch mode {
        case .browse: dashboard.live == nil ? 150 : 50
        case .dashboard, .triage: 30
        }
    }

    /// Copies background results; true when the frame should be redrawn now (rate-limited).
    public func tick(now: Date = Date()) -> Bool {
        if dashboard.refresh(store: runStore) { pendingRedraw = true }
        if triage.refresh() { pendingRedraw = true }
        let browserVersion = browserCache?.version ?? -1
        let browserChanged = mode == .browse && browserVersion != seenBrowserVersion
        guard (pendingRedraw && mode != .browse) || browserChanged,
              now.timeIntervalSince(lastBackgroundRedraw) >= redrawInterval else { return false }
        if mode == .browse { seenBrowserVersion = browserVersion } else { pendingRedraw = false }
        lastBackgroundRedraw = now
        return true
    }

    // MARK: Keys

    /// Handles `key` when it belongs to a mode; false lets the browser have it.
    public func handle(_ key: Key) -> Bool {
        message = nil
        if mode == .triage, triage.noteInput != nil {
            handleNoteKey(key)
            return true
        }
        switch key {
        case .character("D"): return enter(.dashboard)
        case .character("T"): return enter(.triage)
        case .character("B"): return enter(.browse)
        default: break
        }
        switch mode {
        case .browse: return false
        case .dashboard: return handleDashboardKey(key)
        case .triage: return handleTriageKey(key)
        }
    }

    private func enter(_ next: Mode) -> Bool {
        mode = next
        pendingRedraw = true
        guard next != .browse else {
            reloadBrowserDecisions()
            return true
        }
        guard let runStore else {
            message = ("no workspace: \(workspaceProblem ?? "unknown problem")", true)
            return true
        }
        if next == .dashboard { dashboard.reloadRuns(store: runStore) }
        if next == .triage, triage.session == nil, let triageStore {
            triage.reloadRuns(store: runStore, triageStore: triageStore, shipped: shipped)
            if triage.classifiers.isEmpty || triage.segmenters.isEmpty, let absence = shipped?.absence { message = (absence, false) }
        }
        return true
    }

    private func handleDashboardKey(_ key: Key) -> Bool {
        guard let runStore else { return isModeKey(key) }
        switch key {
        case .escape: mode = .browse
        case .tab, .backTab: dashboard.focus = dashboard.focus == .form ? .runs : .form
        case .character(" "): message = (dashboard.togglePause(), false)
        case .character("x"): message = (dashboard.stopLive(), false)
        case .character("b"):
            dashboard.useBlocks.toggle()
            message = (dashboard.useBlocks ? "charts: block characters" : "charts: braille", false)
        case .character("r"): dashboard.reloadRuns(store: runStore)
        case .up, .character("k"):
            if dashboard.focus == .form { dashboard.form.moveField(by: -1) } else { dashboard.runCursor.move(by: -1) }
        case .down, .character("j"):
            if dashboard.focus == .form { dashboard.form.moveField(by: 1) } else { dashboard.runCursor.move(by: 1) }
        case .left, .character("h"): if dashboard.focus == .form { dashboard.form.change(by: -1) }
        case .right, .character("l"): if dashboard.focus == .form { dashboard.form.change(by: 1) }
        case .enter:
            if dashboard.focus == .form {
                message = (dashboard.startRun(dataPath: dataPath, store: runStore), false)
                dashboard.reloadRuns(store: runStore)
            } else {
                message = (dashboard.openSelected(store: runStore), false)
            }
        case .character("c"): message = (dashboard.toggleComparison(store: runStore), false)
        case .character("L"):
            message = (dashboard.openLive(), false)
        default: return isModeKey(key)
        }
        return true
    }

    private func handleTriageKey(_ key: Key) -> Bool {
        guard let runStore, let triageStore else { return isModeKey(key) }
        guard var session = triage.session else {
            switch key {
            case .escape: mode = .browse
            case .tab, .backTab: triage.pickingSegmenter.toggle()
            case .up, .character("k"): if triage.pickingSegmenter { triage.segmenterCursor.move(by: -1) } else { triage.classifierCursor.move(by: -1) }
            case .down, .character("j"): if triage.pickingSegmenter { triage.segmenterCursor.move(by: 1) } else { triage.classifierCursor.move(by: 1) }
            case .enter:
                if let text = triage.openPicked(source: source, runStore: runStore, triageStore: triageStore) {
                    message = (text, triage.session == nil)
                }
                if let cache = triage.cache, let session = triage.session {
                    // The browser follows the pair picked here (and the shipped cache stops when dropped).
                    browserCache = cache
                    browserModelRun = session.modelRun
                    seenBrowserVersion = -1
                }
            default: return isModeKey(key)
            }
            return true
        }
        switch key {
        case .escape:
            triage.close()
            reloadBrowserDecisions()
            return true  // not through the write-back below, which would reopen the closed session
        case .down, .character("j"), .character("n"): session.move(by: 1)
        case .up, .character("k"), .character("p"): session.move(by: -1)
        case .pageDown: session.move(by: 10)
        case .pageUp: session.move(by: -10)
        case .home, .character("g"): session.move(by: -session.index)
        case .end, .character("G"): session.move(by: session.order.count)
        case .character("u"):
            if !session.moveToNextUndecided() { message = ("every slice has a decision", false) }
        case .character("a"): session.decide(.accept)
        case .character("r"): session.decide(.reject)
        case .character("f"): session.decide(.flag)
        case .character("1"), .character("2"), .character("3"), .character("4"):
            if case .character(let c) = key, let r = Int(String(c)).flatMap(TriageRating.init(rawValue:)) { session.rate(r) }
        case .character("m"):
            triage.noteInput = session.currentDecision?.note ?? ""
        case .character("o"):
            triage.session = session
            triage.cycleOrdering()
            if let ordering = triage.session?.ordering, ordering != .patient, let cache = triage.cache {
                let done = cache.computedCount, total = session.order.count
                message = ("order: \(ordering.label)" + (done < total ? " (\(done) of \(total) predicted so far; o o o re-sorts)" : ""), false)
            }
            return true
        default:
            if triage.viewer.handle(key) { return true }
            return isModeKey(key)
        }
        triage.session = session
        return true
    }

    private func handleNoteKey(_ key: Key) {
        var text = triage.noteInput ?? ""
        switch key {
        case .enter:
            triage.noteInput = nil
            triage.session?.setNote(text)
        case .escape:
            triage.noteInput = nil
        case .backspace:
            if !text.isEmpty { text.removeLast() }
            triage.noteInput = text
        case .character(let c):
            text.unicodeScalars.append(c)
            triage.noteInput = text
        default: break
        }
    }

    /// Keys that stay with the app in every mode (quit, help, theme, redraw).
    private func isModeKey(_ key: Key) -> Bool {
        switch key {
        case .character("q"), .control("c"), .character("?"), .character("t"), .control("l"): false
        default: true
        }
    }

    // MARK: Drawing

    /// Draws the mode's body into `rect` and its status line at row `statusY`.
    public func draw(into buffer: inout CellBuffer, rect: Rect, statusY: Int, style: PaneStyle) {
        switch mode {
        case .browse: return
        case .dashboard: dashboard.draw(into: &buffer, rect: rect, style: style)
        case .triage: triage.draw(into: &buffer, rect: rect, style: style, source: source)
        }
        drawStatus(into: &buffer, y: statusY, columns: buffer.columns, style: style)
    }

    private func drawStatus(into buffer: inout CellBuffer, y: Int, columns: Int, style: PaneStyle) {
        let theme = style.theme, bg = theme.statusBackground, fg = theme.statusForeground
        buffer.fill(Rect(x: 0, y: y, width: columns, height: 1), with: Cell(" ", foreground: fg, background: bg))
        let hints: [(String, String)] = switch mode {
        case .dashboard: [("Enter", "start/open"), ("Space", "pause"), ("x", "stop"), ("c", "compare"), ("b", "blocks"), ("B", "browser"),
                         ("T", "triage"), ("q", "quit")]
        case .triage: [("a/r/f", "decide"), ("1-4", "rate"), ("m", "note"), ("o", "order"), ("B", "browser"), ("D", "dashboard"), ("q", "quit")]
        case .browse: []
        }
        let shown = columns >= 120 ? hints : Array(hints.suffix(3))
        let hintWidth = shown.reduce(0) { $0 + $1.0.count + $1.1.count + 3 }
        var x = 1
        x += buffer.text(mode == .dashboard ? "DASHBOARD" : "TRIAGE", x: x, y: y, foreground: theme.focus, background: bg, attributes: .bold)
        x += 2
        let note = message ?? (mode == .triage ? triage.session?.status : nil)
        if let note {
            buffer.text(note.text, x: x, y: y, maxWidth: max(0, columns - hintWidth - x - 2),
                        foreground: note.isError ? theme.error : theme.accent, background: bg, attributes: .bold)
        }
        guard columns - hintWidth > x + 10 else { return }
        var hx = columns - hintWidth
        for (key, label) in shown {
            hx += buffer.text(key, x: hx, y: y, foreground: theme.accent, background: bg, attributes: .bold)
            hx += buffer.text(" \(label)  ", x: hx, y: y, foreground: fg, background: bg)
        }
    }
}
