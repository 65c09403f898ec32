// The training dashboard: a "new run" form and the workspace's past runs on the left; on the right
// the shown run (live or from the run store): status, progress bar with ETA, images/s, learning rate,
// best epoch, loss and metric charts (train per step, train and validation per epoch, plus a second
// run to compare), and the event log.
//
// X axis of every chart: epochs, as fractional steps (global step / steps per epoch), so runs with
// different epoch lengths line up. Keys are handled in `handle`; the workbench owns this pane.
import Foundation
import GliaTraining

/// A control asked of the live run that takes effect after the current step.
public enum PendingControl: Sendable, Equatable {
    case pausing, resuming, stopping

    /// What the status bar says until it is reached.
    public var text: String {
        switch self {
        case .pausing: "pausing after this step"
        case .resuming: "resuming"
        case .stopping: "stopping after this step"
        }
    }

    /// Whether a run in `phase` has done what was asked.
    func isReached(by phase: String) -> Bool {
        switch self {
        case .pausing: phase == RunStatus.paused.rawValue || !Self.live.contains(phase)
        case .resuming: phase != RunStatus.paused.rawValue
        case .stopping: !Self.live.contains(phase)
        }
    }

    private static let live = ["preparing", "running", "paused"]
}

/// State and drawing of the training dashboard.
public struct DashboardPane: Sendable {
    /// Which part of the pane takes keys.
    public enum Focus: Sendable { case form, runs }

    /// The "new run" form.
    public var form = RunForm()
    /// Form or runs list.
    public var focus = Focus.form
    /// Past runs, newest first (reloaded when the pane opens and when a run ends).
    public private(set) var runs: [RunSummary] = []
    /// Cursor in `runs`.
    public var runCursor = ListState()
    /// The live run, if one was started here.
    public private(set) var live: TrainingMonitor?
    /// A past run opened from the list (shown when there is no live run, or over it once opened).
    public private(set) var opened: TrainingSnapshot?
    /// A second run drawn on the same charts.
    public private(set) var comparison: TrainingSnapshot?
    /// Braille (fine) or block (for fonts without braille) curves; ASCII terminals always use ASCII.
    public var useBlocks = false
    /// Last copied live snapshot (refreshed by `refresh()`).
    public private(set) var liveSnapshot: TrainingSnapshot?
    /// A pause, resume or stop asked of the live run and not yet reached.
    public private(set) var pendingControl: PendingControl?
    /// When the store was last read for runs that train in other processes.
    private var lastStorePoll = Date.distantPast
    /// How often runs training elsewhere (`glia train` in a shell) are re-read from the store.
    public static let storePollInterval: TimeInterval = 1

    /// An empty dashboard.
    public init() {}

    /// The run on the charts: the opened past run, else the live one.
    public var shown: TrainingSnapshot? { opened ?? liveSnapshot }

    /// Re-reads the run list; the cursor stays on the run it was on (a new run shifts the rows).
    public mutating func reloadRuns(store: RunStore) {
        let selected = runs.indices.contains(runCursor.selected) ? runs[runCursor.selected].id : nil
        runs = (try? store.runs()) ?? []
        runCursor.setCount(runs.count)
        if let selected, let row = runs.firstIndex(where: { $0.id == selected }) { runCursor.select(row) }
    }

    /// Copies the live snapshot when it changed, and once a second re-reads runs that train in
    /// another process; returns true when the screen should redraw.
    public mutating func refresh(store: RunStore?, now: Date = Date()) -> Bool {
        var changed = false
        if let store, now.timeIntervalSince(lastStorePoll) >= Self.storePollInterval {
            lastStorePoll = now
            changed = followStoredRuns(store: store)
        }
        guard let live else { return changed }
        let version = live.version
        guard version != liveSnapshot?.version else { return changed }
        let before = liveSnapshot
        liveSnapshot = live.snapshot
        if let pendingControl, pendingControl.isReached(by: liveSnapshot?.phase ?? "") { self.pendingControl = nil }
        // The list shows the run once it exists, each change of its status, and its final status once stored.
        let reload = before?.runID != liveSnapshot?.runID || before?.phase != liveSnapshot?.phase
            || before?.historyComplete != liveSnapshot?.historyComplete
        if let store, reload { reloadRuns(store: store) }
        return true
    }

    /// Re-reads the opened run while the store says it trains (in `glia train` or another
    /// workstation), and the list while any run in it does; true when something changed.
    private mutating func followStoredRuns(store: RunStore) -> Bool {
        let trainingElsewhere = runs.contains { [RunStatus.running.rawValue, RunStatus.paused.rawValue].contains($0.status) && $0.id != liveSnapshot?.runID }
        let openedLive = opened.map { $0.isLive && $0.runID != liveSnapshot?.runID } ?? false
        guard trainingElsewhere || openedLive else { return false }
        let before = runs
        reloadRuns(store: store)
        var changed = runs != before
        if openedLive, let id = opened?.runID, let run = runs.first(where: { $0.id == id }),
           let steps = try? store.steps(of: id), let epochs = try? store.epochs(of: id),
           steps.count != opened?.steps.count || epochs.count != opened?.epochs.count || run.status != opened?.phase {
            opened = TrainingSnapshot(run: run, steps: steps, epochs: epochs)
            changed = true
        }
        return changed
    }

    /// Starts the form's run on `dataPath`; refuses while another run is live.
    public mutating func startRun(dataPath: String, store: RunStore) -> String {
        if let liveSnapshot, liveSnapshot.isLive { return "a run is already in progress: stop it first (x)" }
        var configuration = form.configuration
        configuration.dataPath = dataPath
        live = TrainingMonitor.launch(configuration, store: store)
        liveSnapshot = live?.snapshot
        opened = nil
        return "starting a \(configuration.recipe.rawValue) run"
    }

    /// Opens the run under the cursor from the run store (showing the live run instead when it is that one).
    public mutating func openSelected(store: RunStore) -> String {
        guard runs.indices.contains(runCursor.selected) else { return "no run to open" }
        let run = runs[runCursor.selected]
        if run.id == liveSnapshot?.runID {
            opened = nil
            return "showing the live run"
        }
        do {
            opened = TrainingSnapshot(run: run, steps: try store.steps(of: run.id), epochs: try store.epochs(of: run.id))
            return "opened \(run.id)"
        } catch {
            return "cannot read run \(run.id): \(error)"
        }
    }

    /// Toggles the run under the cursor as the comparison run (not the run shown: it would be compared with itself).
    public mutating func toggleComparison(store: RunStore) -> String {
        guard runs.indices.contains(runCursor.selected) else { return "no run to compare" }
        let run = runs[runCursor.selected]
        if run.id == shown?.runID { return "\(run.id) is the run shown: pick another run to compare it with" }
        if comparison?.runID == run.id {
            comparison = nil
            return "comparison off"
        }
        do {
            comparison = TrainingSnapshot(run: run, steps: try store.steps(of: run.id), epochs: try store.epochs(of: run.id))
            return "comparing with \(run.id)"
        } catch {
            return "cannot read run \(run.id): \(error)"
        }
    }

    /// Shows the live run again after a past run was opened.
    public mutating func openLive() -> String {
        guard live != nil else { return "no run was started here" }
        opened = nil
        return "showing the live run"
    }

    /// Pause or resume the live run (space); nil when asked (the pending control says so until it is reached).
    public mutating func togglePause() -> String? {
        guard let live, let s = liveSnapshot, s.isLive else { return "no live run to pause" }
        if s.phase == RunStatus.paused.rawValue {
            live.resume()
            pendingControl = .resuming
        } else {
            live.pause()
            pendingControl = .pausing
        }
        return nil
    }

    /// Stops the live run after its current step; nil when asked.
    @discardableResult
    public mutating func stopLive() -> String? {
        guard let live, liveSnapshot?.isLive == true else { return "no live run to stop" }
        live.stop()
        pendingControl = .stopping
        return nil
    }

    // MARK: Drawing

    /// Draws the whole dashboard into `rect`.
    public mutating func draw(into buffer: inout CellBuffer, rect: Rect, style: PaneStyle) {
        // Wide enough at 80 columns for a compact run id and its status.
        let left = min(58, max(32, rect.width * 2 / 5))
        let formHeight = RunForm.Field.allCases.count + 4
        drawForm(into: &buffer, rect: Rect(x: rect.x, y: rect.y, width: left, height: formHeight), style: style)
        drawRuns(into: &buffer, rect: Rect(x: rect.x, y: rect.y + formHeight, width: left, height: rect.height - formHeight),
                 style: style)
        let right = Rect(x: rect.x + left, y: rect.y, width: rect.width - left, height: rect.height)
        drawRun(into: &buffer, rect: right, style: style)
    }

    private func drawForm(into buffer: inout CellBuffer, rect: Rect, style: PaneStyle) {
        let theme = style.theme, focused = focus == .form
        buffer.fill(rect, with: Cell(" ", foreground: theme.foreground, background: theme.background))
        buffer.box(rect, title: "New run", glyphs: style.glyphs, foreground: style.border(focused: focused),
                   background: theme.background, titleAttributes: focused ? .bold : [])
        let inner = rect.inset(1)
        guard inner.width > 4 else { return }
        for (i, field) in RunForm.Field.allCases.enumerated() where i < inner.height {
            let y = inner.y + i
            let selected = focused && field == form.field
            let disabled = field == .backbone && form.configuration.recipe == .segmenter
            let bg = selected ? theme.selectionBackground : theme.background
            buffer.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), with: Cell(" ", foreground: theme.foreground, background: bg))
            buffer.text(field.label, x: inner.x + 1, y: y, foreground: disabled ? theme.muted : theme.foreground, background: bg)
            let arrows = style.glyphs == .unicode ? ("◂ ", " ▸") : ("< ", " >")
            let value = selected ? arrows.0 + form.value(of: field) + arrows.1 : form.value(of: field)
            buffer.text(value, x: inner.x + 15, y: y, maxWidth: inner.width - 16,
                        foreground: disabled ? theme.muted : selected ? theme.selectionForeground : theme.accent,
                        background: bg, attributes: selected ? .bold : [])
        }
        let hint = focused ? "Enter start  ←→ change" : "Tab: edit the form"
        buffer.text(style.glyphs == .unicode ? hint : hint.replacingOccurrences(of: "←→", with: "<>"),
                    x: inner.x + 1, y: inner.y + inner.height - 1, maxWidth: inner.width - 2, foreground: theme.muted, background: theme.background)
    }

    private mutating func drawRuns(into buffer: inout CellBuffer, rect: Rect, style: PaneStyle) {
        let theme = style.theme, focused = focus == .runs
        let (runs, comparisonID, shownID) = (self.runs, comparison?.runID, shown?.runID)
        let live = liveSnapshot.map { ($0.runID, $0.phase) }
        // Lists with room for a compact run id beside them ("S 20261202-075958", 17 cells) add the
        // dataset and the best validation metric (accuracy or Dice).
        let extra = rect.width - 16 - 15 >= 17 ? 15 : 0
        drawList(into: &buffer, rect: rect, title: "Runs \(runs.isEmpty ? 0 : runCursor.selected + 1)/\(runs.count)",
                 columns: [ListColumn(title: "RUN", width: max(8, rect.width - 15 - extra), alignRight: false),
                           ListColumn(title: "STATUS", width: 11, alignRight: false)]
                    + (extra > 0 ? [ListColumn(title: "DATA", width: 8, alignRight: false), ListColumn(title: "VAL", width: 5, alignRight: true)] : []),
                 state: &runCursor, focused: focused, style: style) { i in
            let run = runs[i]
            let mark = run.id == comparisonID ? "+" : run.id == shownID ? "*" : " "
            // The live run's phase is newer than the store's row.
            let status = run.id == live?.0 ? live?.1 ?? run.status : run.status
            let color: RGB? = status == "failed" ? theme.error : status == "running" ? theme.accent : nil
            let data = (try? run.decodedConfiguration()).map { URL(fileURLWithPath: $0.dataPath).lastPathComponent } ?? "-"
            return [(mark + RunLabel.fitting(run.id, width: rect.width - 16 - extra), nil), (status, color), (data, nil),
                    (run.bestValidationMetric.map { String(format: "%.2f", $0) } ?? "-", nil)]
        }
    }

    private func drawRun(into buffer: inout CellBuffer, rect: Rect, style: PaneStyle) {
        let theme = style.theme
        let headerHeight = 5
        let logHeight = max(4, min(10, rect.height / 4))
        let chartHeight = rect.height - headerHeight - logHeight
        let header = Rect(x: rect.x, y: rect.y, width: rect.width, height: headerHeight)
        buffer.fill(rect, with: Cell(" ", foreground: theme.foreground, background: theme.background))
        guard let run = shown else {
            buffer.box(header, title: "No run", glyphs: style.glyphs, foreground: theme.border, background: theme.background)
            buffer.text("Start a run from the form (Enter), or open a past run (Tab, then Enter).", x: rect.x + 2, y: rect.y + 2,
                        maxWidth: rect.width - 4, foreground: theme.muted, background: theme.background)
            return
        }
        drawHeader(run, into: &buffer, rect: header, style: style)
        let half = rect.width / 2
        let metricName = run.configuration?.recipe == .classifier ? "accuracy" : "Dice"
        let glyphs: ChartGlyphs = style.glyphs == .ascii ? .ascii : useBlocks ? .block : .braille
        if chartHeight >= 5 {
            Chart.draw(series(run, loss: true, style: style), title: "Loss", into: &buffer,
                       rect: Rect(x: rect.x, y: rect.y + headerHeight, width: half, height: chartHeight), glyphs: glyphs, style: style)
            Chart.draw(series(run, loss: false, style: style), title: metricName, into: &buffer,
                       rect: Rect(x: rect.x + half, y: rect.y + headerHeight, width: rect.width - half, height: chartHeight),
                       glyphs: glyphs, style: style)
        }
        let logRect = Rect(x: rect.x, y: rect.y + rect.height - logHeight, width: rect.width, height: logHeight)
        buffer.box(logRect, title: "Events", glyphs: style.glyphs, foreground: theme.border, background: theme.background, titleAttributes: [])
        let lines = run.log.suffix(logHeight - 2)
        for (i, line) in lines.enumerated() {
            let isError = line.hasPrefix("failed") || line.hasPrefix("cannot")
            buffer.text(line, x: logRect.x + 2, y: logRect.y + 1 + i, maxWidth: logRect.width - 4,
                        foreground: isError ? theme.error : theme.foreground, background: theme.background)
        }
    }

    private func drawHeader(_ run: TrainingSnapshot, into buffer: inout CellBuffer, rect: Rect, style: PaneStyle) {
        let theme = style.theme
        let live = run.runID == liveSnapshot?.runID && opened == nil
        buffer.box(rect, title: (live ? "Live: " : "Run: ") + (run.runID ?? "new run"), glyphs: style.glyphs,
                   foreground: live ? theme.focus : theme.border, background: theme.background)
        let inner = rect.inset(1)
        guard inner.width > 20 else { return }
        var x = inner.x + 1
        func put(_ text: String, _ color: RGB, bold: Bool = false, y: Int) {
            x += buffer.text(text, x: x, y: y, maxWidth: inner.x + inner.width - x, foreground: color, background: theme.background,
                             attributes: bold ? .bold : [])
        }
        let phaseColor = run.phase == "failed" ? theme.error : run.phase == "paused" ? theme.accent : theme.focus
        put(run.phase.uppercased(), phaseColor, bold: true, y: inner.y)
        if let c = run.configuration {
            put("  \(c.recipe.rawValue)", theme.foreground, y: inner.y)
            if let s = run.steps.last {
                put("  epoch \(s.epoch)/\(c.epochs)  step \(s.step)/\(s.stepsPerEpoch)", theme.foreground, y: inner.y)
            }
            put("  batch \(c.batchSize)  \(c.imageSize) px", theme.muted, y: inner.y)
        }
        // Progress bar with percentage and ETA.
        x = inner.x + 1
        let fraction = run.fractionDone
        let eta = run.isLive ? (run.secondsLeft.map { "ETA " + ProgressFormatter.duration($0) } ?? "ETA --") : ""
        let label = String(format: " %3d%%  ", Int((fraction * 100).rounded())) + eta
        let barWidth = max(4, inner.width - 2 - label.count)
        let filled = Int((Double(barWidth) * fraction).rounded())
        let (on, off): (Unicode.Scalar, Unicode.Scalar) = style.glyphs == .unicode ? ("█", "░") : ("#", ".")
        for i in 0..<barWidth {
            buffer.put(Cell(i < filled ? on : off, foreground: i < filled ? theme.focus : theme.border, background: theme.background),
                       x: x + i, y: inner.y + 1)
        }
        x += barWidth
        put(label, theme.foreground, bold: true, y: inner.y + 1)
        // Pace, learning rate, best epoch.
        x = inner.x + 1
        if let s = run.steps.last {
            put(String(format: "%.1f img/s", s.imagesPerSecond), theme.foreground, y: inner.y + 2)
            put("  lr " + Chart.compact(Double(s.learningRate)), theme.foreground, y: inner.y + 2)
        }
        if let best = run.bestEpoch {
            put(String(format: "  best epoch %d (val loss %.4f)", best.epoch, best.validationLoss), theme.accent, y: inner.y + 2)
        }
        if let c = comparison, let id = c.runID {
            put("  vs \(id)", theme.tumor, y: inner.y + 2)
        }
    }

    /// Train-per-step, train-per-epoch and validation curves of the shown run and the comparison.
    func series(_ run: TrainingSnapshot, loss: Bool, style: PaneStyle) -> [ChartSeries] {
        let theme = style.theme
        func curves(_ r: TrainingSnapshot, prefix: String, step: RGB, train: RGB, validation: RGB) -> [ChartSeries] {
            let steps = r.steps.map { s in
                ChartPoint(x: Double(s.globalStep) / Double(max(1, s.stepsPerEpoch)), y: Double(loss ? s.loss : s.metric))
            }
            let trainEpochs = r.epochs.map { ChartPoint(x: Double($0.epoch), y: Double(loss ? $0.trainLoss : $0.trainMetric)) }
            let validationEpochs = r.epochs.map { ChartPoint(x: Double($0.epoch), y: Double(loss ? $0.validationLoss : $0.validationMetric)) }
            return [ChartSeries(name: prefix + "step", color: step, points: steps),
                    ChartSeries(name: prefix + "train", color: train, points: trainEpochs),
                    ChartSeries(name: prefix + "val", color: validation, points: validationEpochs)]
        }
        var all = curves(run, prefix: "", step: theme.focus.blended(with: theme.background, alpha: 0.45),
                         train: theme.focus, validation: theme.accent)
        if let comparison, comparison.runID != run.runID {
            all += curves(comparison, prefix: "B ", step: theme.tumor.blended(with: theme.background, alpha: 0.55),
                          train: theme.tumor, validation: theme.overlayPrediction).filter { $0.name != "B step" }
        }
        return all
    }
}
