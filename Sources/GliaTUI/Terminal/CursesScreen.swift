// The real terminal, through ncursesw. The only file in Glia that calls curses.
//
// Colours: with a direct-colour terminfo (COLORS = 2^24, e.g. TERM=tmux-direct, or the family's
// direct entry opened for TERM=xterm-256color, see `ColorMode`) and COLORTERM saying truecolor/24bit,
// a colour is its 0xRRGGBB value (values 0-7 are palette slots, so they are
// clamped to 8). Otherwise colours map to palette entries 16-255 (`Palette256`), or to the 8 basic
// colours on terminals that have no more. Colour pairs come from `alloc_pair` and are kept across
// frames (a slice step reuses most of them); when the table is full mid-frame we
// `reset_color_pairs()` and redraw everything, a fresh start in which no stale colour remains.
//
// Restoring the terminal: `close()` on a normal quit; signal handlers for Ctrl-C, SIGTERM, SIGHUP
// and crash signals (Swift traps arrive as SIGILL/SIGTRAP) call `endwin()` and re-raise the signal,
// so the shell sees the usual status and the terminal is back out of the alternate screen.
//
// Drags: ncurses asks for xterm's 1000 mode (presses and releases only). After its first refresh
// has sent that, the screen asks for 1002 (motion while a button is held) itself, on a terminal
// only; leaving turns it off again (endwin's 1000l does too in xterm and tmux, which reset every
// mouse mode on any of them).
import CNcursesw
import Glibc
import Synchronization

/// Why the terminal could not be opened.
public struct TerminalError: Error, CustomStringConvertible {
    /// What failed, in one line.
    public let description: String
}

/// A `Screen` on the process's terminal.
@MainActor
public final class CursesScreen: Screen {
    public private(set) var columns: Int
    public private(set) var rows: Int
    public let glyphMode: GlyphMode
    /// The colour depth actually in use.
    public let colorMode: ColorMode

    /// How many times the colour-pair table filled up and was started afresh.
    public private(set) var pairTableResets = 0

    private let screen: OpaquePointer
    private let window: UnsafeMutablePointer<WINDOW>
    private let output: UnsafeMutablePointer<FILE>
    /// Images sent with a pixel protocol (nil: images are ignored, text modes only).
    private var graphics: GraphicsWriter?
    /// Image bytes still to send (deletions after an invalidation).
    private var pendingImageBytes: [UInt8] = []
    /// Mouse reports read with an earlier one and not yet returned, oldest first.
    private var pendingMouse: [MouseEvent] = []
    /// Whether xterm's button-motion mode (1002) has been asked for.
    private var buttonMotion = false
    private let basicColorsOnly: Bool
    private var shown: CellBuffer?
    private var pairs: [UInt64: Int32] = [:]
    private var closed = false

    /// Opens the terminal named by `TERM` on stdin/stdout. `forceASCII` (or a non-UTF-8 locale)
    /// restricts frames to ASCII; `environment` decides direct colour (see `ColorMode`).
    public convenience init(forceASCII: Bool, environment: [String: String]) throws {
        setlocale(LC_ALL, "")
        try Self.checkTerminal()
        guard let output = fdopen(1, "w"), let input = fdopen(0, "r") else {
            throw TerminalError(description: "cannot open the terminal: stdin/stdout unavailable")
        }
        try self.init(output: output, input: input, term: nil, forceASCII: forceASCII, environment: environment)
        CursesScreen.installSignalHandlers()
    }

    /// Throws unless stdin and stdout are a terminal; lets commands fail before slow work.
    public nonisolated static func checkTerminal() throws {
        guard isatty(0) == 1, isatty(1) == 1 else {
            throw TerminalError(description: "the workstation needs a terminal (stdin and stdout must be a TTY)")
        }
    }

    /// A screen of `columns x rows` whose output goes to /dev/null, for benchmarks: the same
    /// curses work (pairs, cells, escape sequences) without a terminal.
    /// `outputPath` replaces /dev/null with a file, for counting the bytes sent (`bytesWritten`).
    public static func offscreen(columns: Int, rows: Int, term: String, environment: [String: String],
                                 outputPath: String = "/dev/null") throws -> CursesScreen {
        setlocale(LC_ALL, "")
        guard let output = fopen(outputPath, "w"), let input = fopen("/dev/null", "r") else {
            throw TerminalError(description: "cannot open \(outputPath) for writing")
        }
        let screen = try CursesScreen(output: output, input: input, term: term, forceASCII: false, environment: environment)
        resizeterm(Int32(rows), Int32(columns))
        screen.columns = columns
        screen.rows = rows
        return screen
    }

    private init(output: UnsafeMutablePointer<FILE>, input: UnsafeMutablePointer<FILE>, term: String?,
                 forceASCII: Bool, environment: [String: String]) throws {
        let utf8 = String(cString: nl_langinfo(nl_item(CODESET))) == "UTF-8"
        glyphMode = (utf8 && !forceASCII) ? .unicode : .ascii
        // newterm, unlike initscr, returns nil for an unknown TERM instead of exiting. A terminal
        // said to do 24-bit colour gets its family's direct-colour entry when that is installed.
        let named = term ?? environment["TERM"] ?? ""
        let direct = ColorMode.fromEnvironment(environment) == .direct ? ColorMode.directTerminfo(for: named) : nil
        guard let opened = direct.flatMap({ newterm($0, output, input) }) ?? newterm(term, output, input) else {
            let name = term ?? environment["TERM"] ?? "(unset)"
            throw TerminalError(description: "cannot open the terminal: unknown TERM '\(name)'")
        }
        screen = opened
        self.output = output
        window = ncw_stdscr()
        set_escdelay(25)
        cbreak()
        noecho()
        nonl()
        keypad(window, true)
        curs_set(0)
        mousemask(ncw_mouse_mask_used(), nil)
        mouseinterval(0)
        var mode = ColorMode.none
        var basic = false
        // alloc_pair without start_color crashes (TERM=dumb), hence the has_colors guard.
        if has_colors() {
            start_color()
            use_default_colors()
            let wantsDirect = ColorMode.fromEnvironment(environment) == .direct
            if ncw_colors() >= 0x1000000 && wantsDirect {
                mode = .direct
            } else {
                mode = .palette256
                basic = ncw_colors() < 256
            }
        }
        colorMode = mode
        basicColorsOnly = basic
        columns = Int(getmaxx(window))
        rows = Int(getmaxy(window))
    }

    /// Leaves curses mode and restores the terminal; safe to call twice.
    public func close() {
        guard !closed else { return }
        closed = true
        if buttonMotion {
            fputs("\u{1B}[?1002l", output)
            fflush(output)
        }
        endwin()
        delscreen(screen)
    }

    /// Sends images with a pixel protocol from now on; `tmux` wraps them for tmux passthrough.
    public func enableImages(tmux: Bool) {
        graphics = GraphicsWriter(tmux: tmux)
    }

    /// Bytes written to the output so far (a file given to `offscreen`; 0 for /dev/null and terminals).
    public var bytesWritten: Int {
        fflush(output)
        return max(0, Int(lseek(fileno(output), 0, SEEK_CUR)))
    }

    public func invalidate() {
        shown = nil
        pendingImageBytes += graphics?.forget() ?? []
        // Repaint the physical terminal too (Ctrl-L after another program scribbled on it).
        clearok(window, true)
    }

    @discardableResult
    public func present(_ frame: CellBuffer, images: [ImagePlacement]) -> Int {
        guard frame.columns == columns, frame.rows == rows else { return 0 }
        var imageBytes = pendingImageBytes
        pendingImageBytes = []
        if graphics != nil {
            let (repaint, bytes) = graphics!.update(images)
            // Pixels (and placeholder text) of images gone are not in curses' picture of the screen.
            for rect in repaint { wredrawln(window, Int32(rect.y), Int32(rect.height)) }
            imageBytes += bytes
        }
        var written = write(frame, since: shown)
        if written < 0 {
            // The pair table filled up mid-frame: start from a clean table and redraw everything.
            reset_color_pairs()
            pairs.removeAll(keepingCapacity: true)
            pairTableResets += 1
            clearok(window, true)
            written = write(frame, since: nil)
        }
        shown = frame
        wnoutrefresh(window)
        doupdate()
        if !buttonMotion, isatty(fileno(output)) != 0 {
            buttonMotion = true
            imageBytes = Array("\u{1B}[?1002h".utf8) + imageBytes
        }
        if !imageBytes.isEmpty {
            _ = imageBytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, output) }
            fflush(output)
        }
        return max(0, written)
    }

    /// Writes the cells that differ from `old` (all of them when nil); -1 when pairs ran out.
    private func write(_ frame: CellBuffer, since old: CellBuffer?) -> Int {
        var written = 0
        var cell = cchar_t()
        for y in 0..<frame.rows {
            for x in 0..<frame.columns {
                let c = frame.cells[y * frame.columns + x]
                if let old, old.cells[y * frame.columns + x] == c { continue }
                guard let pair = pair(for: c) else { return -1 }
                var scalar = c.character
                if glyphMode == .ascii, !scalar.isASCII { scalar = "?" }
                _ = ncw_setcell(&cell, wchar_t(bitPattern: scalar.value), attributes(c.attributes), Int32(pair))
                // Writing the bottom-right cell reports ERR (the cursor cannot advance) but draws it.
                _ = mvwadd_wch(window, Int32(y), Int32(x), &cell)
                written += 1
            }
        }
        return written
    }

    private func attributes(_ a: CellAttributes) -> attr_t {
        var result = attr_t(0)
        if a.contains(.bold) { result |= ncw_a_bold() }
        if a.contains(.underline) { result |= ncw_a_underline() }
        if a.contains(.reverse) { result |= ncw_a_reverse() }
        if a.contains(.dim) { result |= ncw_a_dim() }
        return result
    }

    private func pair(for cell: Cell) -> Int32? {
        guard colorMode != .none else { return 0 }
        let fg = colorIndex(cell.foreground), bg = colorIndex(cell.background)
        let key = UInt64(UInt32(bitPattern: fg)) << 32 | UInt64(UInt32(bitPattern: bg))
        if let known = pairs[key] { return known }
        let allocated = alloc_pair(fg, bg)
        guard allocated > 0 else { return nil }
        pairs[key] = allocated
        return allocated
    }

    private func colorIndex(_ c: RGB) -> Int32 {
        switch colorMode {
        case .direct: return Int32(max(8, c.hex))
        case .palette256 where basicColorsOnly:
            // curses numbering: red = 1, green = 2, blue = 4.
            return Int32((c.r >= 128 ? 1 : 0) | (c.g >= 128 ? 2 : 0) | (c.b >= 128 ? 4 : 0))
        case .palette256: return Int32(Palette256.index(for: c))
        case .none: return -1
        }
    }

    public func nextEvent(timeoutMilliseconds: Int) -> InputEvent? {
        if !pendingMouse.isEmpty { return .mouse(pendingMouse.removeFirst()) }
        wtimeout(window, Int32(timeoutMilliseconds))
        var ch: wint_t = 0
        let status = wget_wch(window, &ch)
        if status == ERR {
            // Ctrl-C arrives as SIGINT (cbreak keeps ISIG, so Ctrl-Z still suspends): a key like any other.
            return Interrupt.pending.exchange(false, ordering: .relaxed) ? .key(.control("c")) : nil
        }
        if status == KEY_CODE_YES { return functionKey(Int32(ch)) }
        if ch == 27, skipTerminalReply() { return nil }
        return characterKey(UInt32(ch))
    }

    /// A terminal's late answer to the start-up graphics query (or any escape sequence that is no
    /// key curses knows) arrives as Esc and then the sequence's bytes: read and dropped, so the `[`,
    /// `4` and `c` of `ESC [ ? 62 ; 4 c` do not act as keys. An Esc with nothing right after it is a key.
    private func skipTerminalReply() -> Bool {
        wtimeout(window, 0)
        var next: wint_t = 0
        guard wget_wch(window, &next) == OK else { return false }
        let introducer = UInt32(next)
        // CSI ([) ends with a byte in @...~; DCS (P), APC (_) and OSC (]) with ESC \ or BEL.
        guard [0x5B, 0x50, 0x5F, 0x5D].contains(introducer) else {
            unget_wch(wchar_t(bitPattern: next))
            return false
        }
        wtimeout(window, 50)
        var previous: UInt32 = 0
        for _ in 0..<65_536 {
            var c: wint_t = 0
            guard wget_wch(window, &c) != ERR else { return true }
            let v = UInt32(c)
            let ended = introducer == 0x5B ? (0x40...0x7E).contains(v) : v == 0x07 || (previous == 27 && v == 0x5C)
            if ended { return true }
            previous = v
        }
        return true
    }

    /// A curses mouse report as an event; nil for the kinds the workstation does not use (releases).
    private static func mouseEvent(_ event: MEVENT) -> MouseEvent? {
        let kind: MouseEvent.Kind
        if ncw_mouse_is_motion(event.bstate) != 0 {
            kind = .drag
        } else if ncw_mouse_is_wheel_up(event.bstate) != 0 {
            kind = .wheelUp
        } else if ncw_mouse_is_wheel_down(event.bstate) != 0 {
            kind = .wheelDown
        } else if ncw_mouse_is_click(event.bstate) != 0 {
            kind = .click
        } else {
            return nil
        }
        return MouseEvent(kind: kind, x: Int(event.x), y: Int(event.y))
    }

    private func functionKey(_ code: Int32) -> InputEvent? {
        switch code {
        case KEY_RESIZE:
            columns = Int(getmaxx(window))
            rows = Int(getmaxy(window))
            shown = nil
            pendingImageBytes += graphics?.forget() ?? []
            return .resize(columns: columns, rows: rows)
        case KEY_MOUSE:
            // Reports that arrive together (a press and the first motion of a fast drag) come as one
            // KEY_MOUSE, and getmouse hands them out newest first: take them all, oldest first.
            var reports: [MouseEvent] = []
            var event = MEVENT()
            while getmouse(&event) == OK {
                if let mouse = Self.mouseEvent(event) { reports.insert(mouse, at: 0) }
            }
            guard !reports.isEmpty else { return nil }
            pendingMouse += reports.dropFirst()
            return .mouse(reports[0])
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_PPAGE: return .key(.pageUp)
        case KEY_NPAGE: return .key(.pageDown)
        case KEY_HOME: return .key(.home)
        case KEY_END: return .key(.end)
        case KEY_BTAB: return .key(.backTab)
        case KEY_ENTER: return .key(.enter)
        case KEY_BACKSPACE: return .key(.backspace)
        default: return nil
        }
    }

    private func characterKey(_ value: UInt32) -> InputEvent? {
        switch value {
        case 9: return .key(.tab)
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        case 8, 127: return .key(.backspace)
        case 1...26: return .key(.control(Unicode.Scalar(value + 96)!))
        default:
            guard let scalar = Unicode.Scalar(value) else { return nil }
            return .key(.character(scalar))
        }
    }

    private static func installSignalHandlers() {
        for sig in [SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] {
            signal(sig, restoreTerminalAndReraise)
        }
        // Initialised here, not lazily inside the handler (which must not allocate or lock).
        Interrupt.pending.store(false, ordering: .relaxed)
        signal(SIGINT) { _ in Interrupt.pending.store(true, ordering: .relaxed) }
    }
}

/// Ctrl-C noted by the SIGINT handler, read by `nextEvent`: the workstation decides what it means
/// (quit, or ask first while a run trains).
private enum Interrupt {
    static let pending = Atomic<Bool>(false)
}

/// Signal handler: put the terminal back, then die of the same signal with the default action.
private func restoreTerminalAndReraise(_ sig: Int32) {
    endwin()
    signal(sig, SIG_DFL)
    raise(sig)
}
