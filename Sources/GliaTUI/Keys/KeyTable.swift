// The key table: for each mode, its bindings (keys, label, hint-bar label, command). Dispatch,
// the help overlay and the hint bars all read it, so they cannot drift apart; a key file
// (KeyFile.swift) may rebind any command.

/// One binding: the keys, what the help overlay says, and the short label of the hint bar.
public struct KeyBinding: Sendable, Equatable {
    /// The command performed.
    public let command: Command
    /// Keys that trigger it (the first is the one hint bars show).
    public var keys: [Key]
    /// Description in the help overlay.
    public let label: String
    /// Label in the hint bar; nil keeps the binding out of the bar. Consecutive bindings with the
    /// same hint share one entry ("a/r/f decide").
    public let hint: String?

    /// A binding.
    public init(_ command: Command, _ keys: [Key], _ label: String, hint: String? = nil) {
        self.command = command
        self.keys = keys
        self.label = label
        self.hint = hint
    }
}

/// Bindings of every mode.
public struct KeyTable: Sendable, Equatable {
    /// Bindings by mode, in the order help and hints list them.
    public private(set) var modes: [KeyMode: [KeyBinding]]

    /// The bindings of `mode`.
    public func bindings(_ mode: KeyMode) -> [KeyBinding] { modes[mode] ?? [] }

    /// The command `key` triggers in the first of `active` that binds it.
    public func command(for key: Key, in active: [KeyMode]) -> Command? {
        for mode in active {
            if let binding = bindings(mode).first(where: { $0.keys.contains(key) }) { return binding.command }
        }
        return nil
    }

    /// The binding of `command` in `mode`, if the mode has it.
    public func binding(_ command: Command, in mode: KeyMode) -> KeyBinding? {
        bindings(mode).first { $0.command == command }
    }

    /// Gives `command` in `mode` the keys `keys`. Throws when the mode has no such command or a key
    /// is bound to another command of the mode.
    public mutating func rebind(_ command: Command, in mode: KeyMode, to keys: [Key]) throws(KeyTableError) {
        guard var list = modes[mode], let index = list.firstIndex(where: { $0.command == command }) else {
            throw .noSuchCommand(mode: mode, command: command.rawValue)
        }
        for key in keys {
            if let other = list.first(where: { $0.command != command && $0.keys.contains(key) }) {
                throw .taken(key: key, mode: mode, by: other.command)
            }
        }
        list[index].keys = keys
        modes[mode] = list
    }

    /// The workstation's default keys.
    public static let standard = KeyTable(modes: [
        .global: [
            KeyBinding(.help, [.character("?")], "keys and help", hint: "help"),
            KeyBinding(.quit, [.character("q"), .control("c")], "quit", hint: "quit"),
            KeyBinding(.theme, [.character("t")], "next colour theme"),
            KeyBinding(.redraw, [.control("l")], "redraw the screen"),
            KeyBinding(.dashboard, [.character("D")], "training dashboard"),
            KeyBinding(.triage, [.character("T")], "triage"),
            KeyBinding(.browser, [.character("B")], "back to the browser"),
        ],
        .browser: [
            KeyBinding(.nextPane, [.tab], "next pane", hint: "pane"),
            KeyBinding(.previousPane, [.backTab], "previous pane"),
            KeyBinding(.enterPane, [.enter], "go to the next pane"),
            KeyBinding(.filter, [.character("/")], "filter the list; Esc clears", hint: "filter"),
            KeyBinding(.sort, [.character("s")], "cycle sort order", hint: "sort"),
            KeyBinding(.maximize, [.character("M")], "maximise the viewer / show the browser again"),
            KeyBinding(.nextSlice, [.character("n")], "next slice"),
            KeyBinding(.previousSlice, [.character("p")], "previous slice"),
        ],
        .lists: movement(page: "move a page"),
        .viewer: [
            KeyBinding(.down, [.character("j"), .down], "next slice"),
            KeyBinding(.up, [.character("k"), .up], "previous slice"),
            KeyBinding(.pageDown, [.pageDown], "10 slices on"),
            KeyBinding(.pageUp, [.pageUp], "10 slices back"),
            KeyBinding(.first, [.home], "first slice"),
            KeyBinding(.last, [.end], "last slice"),
        ],
        .image: [
            KeyBinding(.channel, [.character("c")], "cycle channel", hint: "channel"),
            KeyBinding(.overlay, [.character("o")], "cycle overlay style", hint: "overlay"),
            KeyBinding(.opacityUp, [.character("+"), .character("=")], "more overlay opacity"),
            KeyBinding(.opacityDown, [.character("-")], "less overlay opacity"),
            KeyBinding(.narrowWindow, [.character("[")], "narrow the window"),
            KeyBinding(.widenWindow, [.character("]")], "widen the window"),
            KeyBinding(.lowerLevel, [.character("{")], "lower the level"),
            KeyBinding(.raiseLevel, [.character("}")], "raise the level"),
            KeyBinding(.zoomIn, [.character("z")], "zoom in"),
            KeyBinding(.zoomOut, [.character("Z")], "zoom out"),
            KeyBinding(.panLeft, [.character("H")], "pan left"),
            KeyBinding(.panRight, [.character("L")], "pan right"),
            KeyBinding(.panUp, [.character("K")], "pan up"),
            KeyBinding(.panDown, [.character("J")], "pan down"),
            KeyBinding(.resetView, [.character("0")], "reset window and zoom"),
            KeyBinding(.segmenterMask, [.character("S")], "segmenter's mask where the classifier says no (dimmed)"),
            KeyBinding(.windowPreset, [.character("w")], "cycle window/level presets"),
            KeyBinding(.layout, [.character("V")], "side by side: single / 3 channels / truth | prediction"),
            KeyBinding(.readout, [.character("x")], "pixel readout cursor (click sets it)"),
            KeyBinding(.graphics, [.character("I")], "cycle graphics mode"),
        ],
        .cursor: [
            KeyBinding(.cursorLeft, [.character("h"), .left], "cursor one pixel left"),
            KeyBinding(.cursorRight, [.character("l"), .right], "cursor one pixel right"),
            KeyBinding(.cursorUp, [.character("k"), .up], "cursor one pixel up"),
            KeyBinding(.cursorDown, [.character("j"), .down], "cursor one pixel down"),
            KeyBinding(.readout, [.character("x"), .escape], "hide the cursor", hint: "hide cursor"),
        ],
        .dashboard: [
            KeyBinding(.start, [.enter], "start the form's run / open the run", hint: "start/open"),
            KeyBinding(.pause, [.character(" ")], "pause / resume the live run", hint: "pause"),
            KeyBinding(.stop, [.character("x")], "stop the live run", hint: "stop"),
            KeyBinding(.compare, [.character("c")], "compare with the run under the cursor", hint: "compare"),
            KeyBinding(.showLive, [.character("L")], "show the live run again"),
            KeyBinding(.blocks, [.character("b")], "block / braille charts", hint: "blocks"),
            KeyBinding(.reload, [.character("r")], "re-read the runs"),
            KeyBinding(.switchFocus, [.tab, .backTab], "form / runs list"),
            KeyBinding(.down, [.character("j"), .down], "next field / run"),
            KeyBinding(.up, [.character("k"), .up], "previous field / run"),
            KeyBinding(.previousValue, [.character("h"), .left], "previous value"),
            KeyBinding(.nextValue, [.character("l"), .right], "next value"),
            KeyBinding(.back, [.escape], "back to the browser"),
        ],
        .picker: [
            KeyBinding(.start, [.enter], "start triage with the pair", hint: "start"),
            KeyBinding(.switchFocus, [.tab, .backTab], "classifier / segmenter list", hint: "list"),
            KeyBinding(.down, [.character("j"), .down], "next run"),
            KeyBinding(.up, [.character("k"), .up], "previous run"),
            KeyBinding(.back, [.escape], "back to the browser"),
        ],
        .triage: [
            KeyBinding(.accept, [.character("a")], "accept, then the next slice", hint: "decide"),
            KeyBinding(.reject, [.character("r")], "reject", hint: "decide"),
            KeyBinding(.flag, [.character("f")], "flag for review", hint: "decide"),
            KeyBinding(.rate1, [.character("1")], "rate: acceptable as is", hint: "rate"),
            KeyBinding(.rate2, [.character("2")], "rate: minor corrections", hint: "rate"),
            KeyBinding(.rate3, [.character("3")], "rate: major corrections", hint: "rate"),
            KeyBinding(.rate4, [.character("4")], "rate: wrong location / not visible", hint: "rate"),
            KeyBinding(.note, [.character("m")], "write a note", hint: "note"),
            KeyBinding(.queue, [.character("v")], "queue (tumor or disagreement) / all", hint: "queue"),
            KeyBinding(.list, [.character("l")], "list the slices walked; Enter jumps", hint: "list"),
            KeyBinding(.order, [.character("o")], "cycle the order"),
            KeyBinding(.nextUndecided, [.character("u")], "next slice without a decision"),
            KeyBinding(.down, [.character("j"), .down, .character("n")], "next slice"),
            KeyBinding(.up, [.character("k"), .up, .character("p")], "previous slice"),
            KeyBinding(.pageDown, [.pageDown], "10 slices on"),
            KeyBinding(.pageUp, [.pageUp], "10 slices back"),
            KeyBinding(.first, [.home, .character("g")], "first slice"),
            KeyBinding(.last, [.end, .character("G")], "last slice"),
            KeyBinding(.back, [.escape], "close; pick another pair"),
        ],
        .queueList: [
            KeyBinding(.jump, [.enter], "show the slice", hint: "show"),
            KeyBinding(.down, [.character("j"), .down], "next row"),
            KeyBinding(.up, [.character("k"), .up], "previous row"),
            KeyBinding(.pageDown, [.pageDown], "a page on"),
            KeyBinding(.pageUp, [.pageUp], "a page back"),
            KeyBinding(.first, [.home, .character("g")], "first row"),
            KeyBinding(.last, [.end, .character("G")], "last row"),
            KeyBinding(.back, [.escape, .character("l")], "close the list", hint: "close"),
        ],
        .quit: [
            KeyBinding(.detach, [.character("d")], "keep training in the background", hint: "keep training"),
            KeyBinding(.stopAndQuit, [.character("y")], "stop the run and quit", hint: "stop it"),
            KeyBinding(.cancel, [.escape, .character("n")], "stay", hint: "stay"),
        ],
    ])

    private static func movement(page: String) -> [KeyBinding] {
        [KeyBinding(.down, [.character("j"), .down], "move down"),
         KeyBinding(.up, [.character("k"), .up], "move up"),
         KeyBinding(.pageDown, [.pageDown], page),
         KeyBinding(.pageUp, [.pageUp], page + " back"),
         KeyBinding(.first, [.home, .character("g")], "first row"),
         KeyBinding(.last, [.end, .character("G")], "last row")]
    }
}

/// A rebinding that cannot be applied.
public enum KeyTableError: Error, Equatable, CustomStringConvertible {
    /// The mode has no command of that name.
    case noSuchCommand(mode: KeyMode, command: String)
    /// The key already triggers another command of the mode.
    case taken(key: Key, mode: KeyMode, by: Command)

    public var description: String {
        switch self {
        case .noSuchCommand(let mode, let command):
            "\(mode.rawValue) has no command '\(command)' (it has: "
                + KeyTable.standard.bindings(mode).map(\.command.rawValue).joined(separator: ", ") + ")"
        case .taken(let key, let mode, let other):
            "'\(key.fileName)' is already \(mode.rawValue).\(other.rawValue)"
        }
    }
}
