// Every action a key can trigger in the workstation. The key table maps keys to these per mode;
// `App` and `Workbench` perform them. Raw values are the names a key file uses (`triage.accept = y`).

/// A part of the workstation with its own key bindings. Lookups walk a list of active modes in
/// order, so a mode listed first shadows the same key in a later one (triage's `o` is "order",
/// the viewer's `o` "overlay").
public enum KeyMode: String, CaseIterable, Sendable {
    /// Keys that work on every screen.
    case global
    /// The browser: panes, filter, sort.
    case browser
    /// Moving in the patient and slice lists.
    case lists
    /// Moving through the volume when the viewer has the keyboard.
    case viewer
    /// How the image is drawn (browser and triage alike).
    case image
    /// The readout cursor, while it is shown.
    case cursor
    /// The training dashboard.
    case dashboard
    /// Triage's model-pair picker.
    case picker
    /// An open triage session.
    case triage
    /// The list of a triage session's queue (or of every slice), opened over the image.
    case queueList = "queue-list"
    /// The question asked on quit while a run trains.
    case quit

    /// Heading in the help overlay.
    public var title: String {
        switch self {
        case .global: "Everywhere"
        case .browser: "Browser"
        case .lists: "Lists"
        case .viewer: "Viewer"
        case .image: "Image"
        case .cursor: "Readout cursor"
        case .dashboard: "Dashboard"
        case .picker: "Triage: model pair"
        case .triage: "Triage"
        case .queueList: "Triage: queue list"
        case .quit: "Quit with a live run"
        }
    }
}

/// What a key does.
public enum Command: String, CaseIterable, Sendable {
    // Everywhere.
    case quit, help, redraw, theme, dashboard, triage, browser
    // Browser.
    case nextPane = "next-pane", previousPane = "previous-pane", enterPane = "enter-pane"
    case nextSlice = "next-slice", previousSlice = "previous-slice", filter, sort
    // Movement in lists, the viewer, the picker and triage.
    case down, up, pageDown = "page-down", pageUp = "page-up", first, last
    // Image.
    case channel, overlay, opacityUp = "opacity-up", opacityDown = "opacity-down"
    case narrowWindow = "narrow-window", widenWindow = "widen-window", lowerLevel = "lower-level", raiseLevel = "raise-level"
    case zoomIn = "zoom-in", zoomOut = "zoom-out", panLeft = "pan-left", panRight = "pan-right", panUp = "pan-up", panDown = "pan-down"
    case resetView = "reset-view", windowPreset = "window-preset", maximize
    /// Single image, the three channels side by side, truth beside prediction, cycled.
    case layout
    /// Where the classifier says no tumor: show or hide the segmenter's own mask (dimmed).
    case segmenterMask = "segmenter-mask"
    case readout, cursorLeft = "cursor-left", cursorRight = "cursor-right", cursorUp = "cursor-up", cursorDown = "cursor-down"
    // How images are drawn (kitty, sixel, sextants, ...), cycled.
    case graphics
    // Dashboard and picker.
    case back, switchFocus = "switch-focus", start, pause, stop, compare, blocks, reload, showLive = "show-live"
    case previousValue = "previous-value", nextValue = "next-value"
    // Triage.
    case accept, reject, flag, rate1 = "rate-1", rate2 = "rate-2", rate3 = "rate-3", rate4 = "rate-4"
    case note, order, queue, nextUndecided = "next-undecided", list
    // The queue list.
    case jump
    // The quit question.
    case stopAndQuit = "stop-and-quit", detach, cancel
}
