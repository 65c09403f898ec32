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
    public internal(set) var mode = Mode.browse
    /// Training dashboard state.
    public internal(set) var dashboard = DashboardPane()
    /// Triage state.
    public internal(set) var triage = TriagePane()
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
    public internal(set) var message: (text: String, isError: Bool)?
    /// Shortest time between two redraws caused by background work.
    public var redrawInterval: TimeInterval = 0.1
    private var lastBackgroundRedraw = Date.distantPast
    var pendingRedraw = false
    /// Where handing the live run to a background process stands (see BackgroundRun.swift).
    var detach = DetachState.none
    /// The shipped models, offered in triage and predicting in the browser until triage picks a pair.
    public let shipped: ShippedModels?
    /// Patients the shipped models were trained ("train") or validated ("val") on.
    public let seenPatients: [String: String]
    /// Predictions shown in the browser and viewer; nil without models.
    public internal(set) var browserCache: PredictionCache?
    /// The model pair of `browserCache` ("<classifier>+<segmenter>"), whose triage decisions the browser lists.
    public internal(set) var browserModelRun: String?
    /// Triage decisions of `browserModelRun`, by slice (for the browser's Triage column).
    public private(set) var browserDecisions: [SliceKey: String] = [:]
    /// Whether the viewers draw the segmenter's own mask (dimmed) where the classifier says no tumor.
    public internal(set) var showUnflaggedMask = true
    var seenBrowserVersion = -1

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
    func reloadBrowserDecisions() {
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
        if dashboard.refresh(store: runStore, now: now) { pendingRedraw = true }
        if advanceDetach() { pendingRedraw = true }
        if triage.refresh() { pendingRedraw = true }
        let browserVersion = browserCache?.version ?? -1
        let browserChanged = mode == .browse && browserVersion != seenBrowserVersion
        guard (pendingRedraw && mode != .browse) || browserChanged,
              now.timeIntervalSince(lastBackgroundRedraw) >= redrawInterval else { return false }
        if mode == .browse { seenBrowserVersion = browserVersion } else { pendingRedraw = false }
        lastBackgroundRedraw = now
        return true
    }

    // MARK: Modes

    /// The key modes of the screen shown (before the global one); nil in browse mode, where the
    /// browser's panes decide.
    public var activeModes: [KeyMode]? {
        switch mode {
        case .browse: nil
        case .dashboard: [.dashboard]
        case .triage: triage.session == nil ? [.picker] : triage.queueList == nil ? [.triage, .image] : [.queueList]
        }
    }

    /// Switches to `next`, loading what it shows.
    func enter(_ next: Mode) {
        mode = next
        pendingRedraw = true
        guard next != .browse else {
            reloadBrowserDecisions()
            return
        }
        guard let runStore else {
            message = ("no workspace: \(workspaceProblem ?? "unknown problem")", true)
            return
        }
        if next == .dashboard { dashboard.reloadRuns(store: runStore) }
        if next == .triage, triage.session == nil, let triageStore {
            triage.reloadRuns(store: runStore, triageStore: triageStore, shipped: shipped, dataPath: dataPath,
                              patients: Set(source.patients.map(\.id)))
            if triage.classifiers.isEmpty || triage.segmenters.isEmpty, let absence = shipped?.absence { message = (absence, false) }
        }
    }

    // MARK: Drawing

    /// Draws the mode's body into `rect` and its status line at row `statusY`.
    public func draw(into buffer: inout CellBuffer, rect: Rect, statusY: Int, style: PaneStyle, keys: KeyTable) {
        switch mode {
        case .browse: return
        case .dashboard: dashboard.draw(into: &buffer, rect: rect, style: style)
        case .triage: triage.draw(into: &buffer, rect: rect, style: style, source: source, keys: keys, showUnflagged: showUnflaggedMask)
        }
        drawStatus(into: &buffer, y: statusY, columns: buffer.columns, style: style, keys: keys)
    }

    private func drawStatus(into buffer: inout CellBuffer, y: Int, columns: Int, style: PaneStyle, keys: KeyTable) {
        let theme = style.theme, bg = theme.statusBackground, fg = theme.statusForeground
        buffer.fill(Rect(x: 0, y: y, width: columns, height: 1), with: Cell(" ", foreground: fg, background: bg))
        let modes = (activeModes ?? []) + [.global]
        var hintWidth = HintBar.width(keys, modes: modes, width: columns / 2, glyphs: style.glyphs)
        var x = 1
        x += buffer.text(mode == .dashboard ? "DASHBOARD" : "TRIAGE", x: x, y: y, foreground: theme.focus.readable(on: bg), background: bg,
                         attributes: .bold)
        x += 2
        let note = message ?? (mode == .triage ? triage.session?.status : dashboard.pendingControl.map { ($0.text, false) })
        // As in the browser: a message longer than the room beside the hints takes the whole bar.
        if let message, message.text.count + x + 2 > columns - hintWidth { hintWidth = 0 }
        if let note {
            buffer.text(note.text, x: x, y: y, maxWidth: max(0, columns - hintWidth - x - 2),
                        foreground: (note.isError ? theme.error : theme.accent).readable(on: bg), background: bg, attributes: .bold)
        }
        if hintWidth > 0 { HintBar.draw(keys, modes: modes, into: &buffer, y: y, width: columns / 2, style: style) }
    }
}
