// The workbench's commands: mode switches, the dashboard's, the triage picker's and an open
// triage session's. The panes are changed in place (`triage.session?.decide(...)`), never copied
// out and written back, so closing a session cannot be undone by a stale copy.
import Foundation
import GliaTraining

extension Workbench {
    /// Performs `command` when it belongs to the workbench; false lets the browser have it.
    public func perform(_ command: Command) -> Bool {
        message = nil
        switch command {
        case .dashboard: enter(.dashboard)
        case .triage: enter(.triage)
        case .browser: enter(.browse)
        case .segmenterMask:
            showUnflaggedMask.toggle()
            message = (showUnflaggedMask ? "where the classifier says no tumor, the segmenter's own mask is drawn dimmed"
                : "where the classifier says no tumor, no mask is drawn", false)
        default:
            switch mode {
            case .browse: return false
            case .dashboard: performDashboard(command)
            case .triage:
                if triage.session == nil {
                    performPicker(command)
                } else if triage.queueList != nil {
                    performList(command)
                } else {
                    performTriage(command)
                }
            }
        }
        return true
    }

    private func performDashboard(_ command: Command) {
        if command == .back {
            mode = .browse
            return
        }
        guard let runStore else { return }
        let form = dashboard.focus == .form
        switch command {
        case .switchFocus: dashboard.focus = form ? .runs : .form
        case .pause: message = dashboard.togglePause().map { ($0, false) }
        case .stop: message = dashboard.stopLive().map { ($0, false) }
        case .blocks:
            dashboard.useBlocks.toggle()
            message = (dashboard.useBlocks ? "charts: block characters" : "charts: braille", false)
        case .reload: dashboard.reloadRuns(store: runStore)
        case .up: if form { dashboard.form.moveField(by: -1) } else { dashboard.runCursor.move(by: -1) }
        case .down: if form { dashboard.form.moveField(by: 1) } else { dashboard.runCursor.move(by: 1) }
        case .previousValue: if form { dashboard.form.change(by: -1) }
        case .nextValue: if form { dashboard.form.change(by: 1) }
        case .start:
            if form {
                message = (dashboard.startRun(dataPath: dataPath, store: runStore), false)
                dashboard.reloadRuns(store: runStore)
            } else {
                message = (dashboard.openSelected(store: runStore), false)
            }
        case .compare: message = (dashboard.toggleComparison(store: runStore), false)
        case .showLive: message = (dashboard.openLive(), false)
        default: break
        }
    }

    private func performPicker(_ command: Command) {
        guard let runStore, let triageStore else {
            if command == .back { mode = .browse }
            return
        }
        switch command {
        case .back: mode = .browse
        case .switchFocus: triage.pickingSegmenter.toggle()
        case .up: if triage.pickingSegmenter { triage.segmenterCursor.move(by: -1) } else { triage.classifierCursor.move(by: -1) }
        case .down: if triage.pickingSegmenter { triage.segmenterCursor.move(by: 1) } else { triage.classifierCursor.move(by: 1) }
        case .start:
            if let text = triage.openPicked(source: source, runStore: runStore, triageStore: triageStore) {
                message = (text, triage.session == nil)
            }
            if let cache = triage.cache, let session = triage.session {
                // The browser follows the pair picked here (and the shipped cache stops when dropped).
                browserCache = cache
                browserModelRun = session.modelRun
                seenBrowserVersion = -1
            }
        default: break
        }
    }

    private func performTriage(_ command: Command) {
        switch command {
        case .back:
            triage.close()
            reloadBrowserDecisions()
        case .down: triage.session?.move(by: 1)
        case .up: triage.session?.move(by: -1)
        case .pageDown: triage.session?.move(by: 10)
        case .pageUp: triage.session?.move(by: -10)
        case .first: triage.session?.moveToEnd(last: false)
        case .last: triage.session?.moveToEnd(last: true)
        case .nextUndecided:
            if triage.session?.moveToNextUndecided() == false { message = ("every slice has a decision", false) }
        case .accept: triage.session?.decide(.accept, advance: true)
        case .reject: triage.session?.decide(.reject)
        case .flag: triage.session?.decide(.flag)
        case .rate1: triage.session?.rate(.acceptable)
        case .rate2: triage.session?.rate(.minorEdits)
        case .rate3: triage.session?.rate(.majorEdits)
        case .rate4: triage.session?.rate(.wrong)
        case .note:
            triage.session?.pin()
            triage.noteInput = triage.session?.noteShown ?? ""
        case .list: triage.toggleList()
        case .queue:
            triage.toggleQueue()
            if let session = triage.session {
                message = (session.queueOnly ? "queue: \(session.order.count) slices the models call tumor or the truth does so far"
                    : "every slice (\(session.order.count))", false)
            }
        case .order:
            triage.cycleOrdering()
            if let session = triage.session, session.ordering != .patient, let cache = triage.cache {
                let done = cache.computedCount, total = session.order.count
                message = ("order: \(session.ordering.label)" + (done < total ? " (\(done) of \(total) predicted so far; o o o re-sorts)" : ""), false)
            }
        default: triage.viewer.perform(command)
        }
    }

    private func performList(_ command: Command) {
        switch command {
        case .down: triage.moveList(by: 1)
        case .up: triage.moveList(by: -1)
        case .pageDown: triage.moveList(by: 10)
        case .pageUp: triage.moveList(by: -10)
        case .first: triage.moveList(by: -Int.max / 2)
        case .last: triage.moveList(by: Int.max / 2)
        case .jump: triage.jumpToListed()
        case .back, .list: triage.toggleList()
        default: break
        }
    }

    /// Whether a triage note is being typed (keys go to the note, not the table).
    public var isTypingNote: Bool { mode == .triage && triage.noteInput != nil }

    /// One key of the note being typed: Enter keeps it, Esc drops the edit.
    public func typeNote(_ key: Key) {
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
}
