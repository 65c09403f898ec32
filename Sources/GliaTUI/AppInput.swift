// The workstation's input: events become commands through the key table, for the modes active on
// the screen shown, and the commands change the panes in place.
//
// What can take a key, first to last: the "terminal too small" screen (only quit), the quit
// question, the help overlay, the filter or note being typed, then the key table.
import Foundation

extension App {
    /// The modes whose keys are live now, first shadowing later ones.
    public var activeModes: [KeyMode] {
        if quitQuestion { return [.quit] }
        if let modes = workbench?.activeModes {
            let cursor = workbench?.mode == .triage && workbench?.triage.viewer.options.cursor != nil
            return (cursor ? [.cursor] : []) + modes + [.global]
        }
        let cursor: [KeyMode] = viewer.options.cursor != nil ? [.cursor] : []
        return cursor + (focus == .viewer ? [.browser, .viewer, .image] : [.browser, .lists, .image]) + [.global]
    }

    /// Whether the screen is too small to draw the workstation (only quit works then).
    public var isTooSmall: Bool { screen.columns < Self.minimumColumns || screen.rows < Self.minimumRows }

    /// Applies one event (public so tests can drive the app without a terminal).
    public func handle(_ event: InputEvent) {
        switch event {
        case .resize:
            screen.invalidate()
        case .mouse(let mouse):
            guard !isTooSmall, !quitQuestion else { return }
            handleMouse(mouse)
        case .key(let key):
            handleKey(key)
        }
    }

    private func handleKey(_ key: Key) {
        // Notices go with the next key; errors (a broken theme, an unreadable slice) stay until
        // Esc or a newer message, so a stray key cannot hide them before they are read.
        if message?.isError != true || key == .escape { message = nil }
        if workbench?.isStoppingForQuit == true { return }
        workbench?.clearDetachFailure()
        if isTooSmall {
            // Nothing behind the notice may change: it is not on the screen.
            if keys.command(for: key, in: [.global]) == .quit { requestQuit(interrupt: key == .control("c")) }
            return
        }
        if let page = helpPage {
            switch key {
            case .pageDown, .down, .character(" "): helpPage = page + 1
            case .pageUp, .up: helpPage = max(0, page - 1)
            default: helpPage = nil
            }
            return
        }
        if filterInput != nil {
            handleFilterKey(key)
            return
        }
        if let workbench, workbench.isTypingNote {
            workbench.typeNote(key)
            return
        }
        guard let command = keys.command(for: key, in: activeModes) else { return }
        perform(command, key: key)
    }

    private func perform(_ command: Command, key: Key) {
        switch command {
        case .quit: requestQuit(interrupt: key == .control("c"))
        case .help: helpPage = 0
        case .redraw: screen.invalidate()
        case .theme: cycleTheme()
        case .graphics: cycleGraphics()
        case .stopAndQuit:
            quitQuestion = false
            workbench?.stopLiveRun()
        case .detach:
            quitQuestion = false
            workbench?.detachLiveRun()
        case .cancel: quitQuestion = false
        default:
            if let workbench, workbench.perform(command) {
                // In browse mode the workbench's note goes in the browser's status bar.
                if workbench.mode == .browse, let note = workbench.message { message = note }
                return
            }
            performBrowser(command)
        }
    }

    /// Quits, or asks first while a run trains in this process.
    private func requestQuit(interrupt: Bool) {
        interrupted = interrupt
        if workbench?.hasLiveRun == true, !isTooSmall {
            quitQuestion = true
        } else {
            isRunning = false
        }
    }

    private func performBrowser(_ command: Command) {
        switch command {
        case .maximize:
            viewerMaximized.toggle()
            if viewerMaximized { focus = .viewer }
        // Moving to a list shows the lists again: a hidden pane never has the keyboard.
        case .nextPane:
            viewerMaximized = false
            focus = Focus(rawValue: (focus.rawValue + 1) % Focus.allCases.count)!
        case .previousPane:
            viewerMaximized = false
            focus = Focus(rawValue: (focus.rawValue + Focus.allCases.count - 1) % Focus.allCases.count)!
        case .enterPane where focus != .viewer: focus = Focus(rawValue: focus.rawValue + 1)!
        case .filter where focus != .viewer:
            filterInput = focus == .patients ? browser.patientFilter : browser.sliceFilter
        case .sort: if focus == .patients { browser.cyclePatientSort() } else { browser.cycleSliceSort() }
        case .nextSlice: browser.stepSlice(by: 1)
        case .previousSlice: browser.stepSlice(by: -1)
        case .down, .up, .pageDown, .pageUp, .first, .last:
            if focus == .viewer {
                // In the viewer, movement walks the volume in slice order whatever the list's sort.
                let steps: [Command: Int] = [.down: 1, .up: -1, .pageDown: 10, .pageUp: -10, .first: -100_000, .last: 100_000]
                browser.stepSlice(by: steps[command] ?? 0)
            } else {
                let page = pageSize
                let move: (inout ListState) -> Void = switch command {
                case .down: { $0.move(by: 1) }
                case .up: { $0.move(by: -1) }
                case .pageDown: { $0.move(by: page) }
                case .pageUp: { $0.move(by: -page) }
                case .first: { $0.select(0) }
                default: { $0.select(Int.max / 2) }
                }
                if focus == .patients { movePatients(move) } else { move(&browser.slices) }
            }
        default:
            viewer.perform(command)
        }
    }

    private var pageSize: Int {
        let l = layout(columns: screen.columns, rows: screen.rows)
        return BrowserPane.visibleRows(in: focus == .patients ? l.patients : l.slices)
    }

    private func movePatients(_ change: (inout ListState) -> Void) {
        let before = browser.selectedPatient?.id
        change(&browser.patients)
        if browser.selectedPatient?.id != before { browser.patientSelectionChanged() }
    }

    private func handleFilterKey(_ key: Key) {
        var text = filterInput ?? ""
        switch key {
        case .enter:
            filterInput = nil
            return
        case .escape:
            text = ""
            filterInput = nil
        case .backspace:
            if !text.isEmpty { text.removeLast() }
            filterInput = text
        case .character(let c):
            text.unicodeScalars.append(c)
            filterInput = text
        default:
            return
        }
        if focus == .patients { browser.setPatientFilter(text) } else { browser.setSliceFilter(text) }
    }

    private func handleMouse(_ mouse: MouseEvent) {
        guard helpPage == nil else {
            helpPage = nil
            return
        }
        // A drag goes on wherever the pointer goes once it began on the image; no other pane takes one.
        if mouse.kind == .drag {
            viewer.dragged(x: mouse.x, y: mouse.y)
            return
        }
        if mouse.kind == .click { viewer.endDrag() }
        let l = layout(columns: screen.columns, rows: screen.rows)
        let step = mouse.kind == .wheelUp ? -1 : 1
        if l.patients.contains(x: mouse.x, y: mouse.y) {
            focus = .patients
            if mouse.kind == .click {
                if let row = BrowserPane.row(at: mouse.y, in: l.patients, state: browser.patients) { movePatients { $0.select(row) } }
            } else {
                movePatients { $0.move(by: step) }
            }
        } else if l.slices.contains(x: mouse.x, y: mouse.y) {
            focus = .slices
            if mouse.kind == .click {
                if let row = BrowserPane.row(at: mouse.y, in: l.slices, state: browser.slices) { browser.slices.select(row) }
            } else {
                browser.slices.move(by: step)
            }
        } else if l.viewer.contains(x: mouse.x, y: mouse.y) {
            focus = .viewer
            if mouse.kind == .click {
                viewer.press(x: mouse.x, y: mouse.y)
            } else {
                browser.stepSlice(by: step)
            }
        }
    }
}
