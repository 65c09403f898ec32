// End-to-end tests of the built `glia` binary: the workstation in tmux, and `glia show`.
//
// The binary sits next to the test bundle (.build/<configuration>/glia). A three-patient phantom
// set is written once with `glia synth` into a temporary folder. Each screen is awaited by polling
// capture-pane, then checked for text and for SGR colours (tmux-256color: `38;5;N` / `48;5;N`).
import Foundation
import GliaTestSupport
import GliaTUI
import XCTest

final class WorkstationTests: XCTestCase {
    private static let work = FileManager.default.temporaryDirectory.appendingPathComponent("glia-e2e-\(getpid())")
    private static let datasetResult: Result<URL, any Error> = Result {
        let url = work.appendingPathComponent("data")
        let result = try runGlia(["synth", "--out", url.path, "--patients", "3"])
        guard result.status == 0 else { throw TmuxError(message: "glia synth failed: \(result.errors)") }
        return url
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: work)
        super.tearDown()
    }

    /// The built glia executable, or a skip.
    static func glia() throws -> URL {
        guard let url = GliaProcess.executable else {
            throw XCTSkip("skipped: no glia executable next to the test bundle (run swift build first)")
        }
        return url
    }

    static func runGlia(_ arguments: [String], environment: [String: String] = [:]) throws -> GliaProcess.Result {
        _ = try glia()
        return try GliaProcess.run(arguments, environment: environment)
    }

    private func session(columns: Int, rows: Int) throws -> TmuxSession {
        guard TmuxSession.executable != nil else { throw XCTSkip("skipped: tmux is not installed") }
        return try TmuxSession(columns: columns, rows: rows)
    }

    private func dataset() throws -> URL { try Self.datasetResult.get() }

    /// The command line that starts glia in the pane and prints its exit status afterwards.
    private func command(_ arguments: String, environment: String = "") throws -> String {
        "cd \(Self.work.path) && TERM=tmux-256color COLORTERM= \(environment) \(try Self.glia().path) \(arguments); echo rc=$?"
    }

    private func sgrIndex(_ color: RGB) -> String { "5;\(Palette256.index(for: color))m" }

    func testBrowseViewHelpResizeAndQuit() throws {
        let data = try dataset()
        let tmux = try session(columns: 120, rows: 36)
        defer { tmux.close() }
        try tmux.typeLine(command("--data \(data.path)"))
        // Wait for the whole first frame: the status bar is written last.
        var screen = try tmux.waitFor("the first frame") { $0.contains("Patients 1/3") && $0.contains("q quit") }
        XCTAssertTrue(try tmux.alternateScreenOn())
        XCTAssertTrue(screen.contains("Glia  data  3 patients"))
        XCTAssertTrue(screen.contains("\u{2580}"), "slice drawn with half blocks:\n\(screen)")
        let colored = try tmux.capture(escapes: true)
        XCTAssertTrue(colored.contains("38;" + sgrIndex(Theme.dark.focus)), "focused pane border in the focus colour")
        XCTAssertTrue(colored.contains("48;" + sgrIndex(Theme.dark.statusBackground)), "status bar colour")

        // Next patient, then into its slices, sorted by tumor area (after truth): the first row is the largest tumor.
        try tmux.send("j")
        screen = try tmux.waitFor(text: "SYN_PB_0002_20000118  slice 1/")
        try tmux.send("Tab", "s")
        try tmux.waitFor(text: "by truth")
        try tmux.send("s", "Home")
        screen = try tmux.waitFor(text: "by tumor area")
        screen = try tmux.waitFor("the largest tumor selected") { $0.contains("by tumor area") && $0.contains("  tumor ─") }
        try tmux.send("o")
        try tmux.waitFor(text: "overlay outline")
        let outline = try tmux.capture(escapes: true)
        XCTAssertTrue(outline.contains(sgrIndex(Theme.dark.overlayTruth) + "\u{2580}"), "outline drawn in the truth colour")
        try tmux.send("c")
        try tmux.waitFor(text: "channel post-contrast")

        // Viewer: step to the next slice in volume order; the slice list follows.
        let before = try tmux.capture()
        try tmux.send("Tab", "j")
        screen = try tmux.waitFor("the next slice") { $0 != before && $0.contains("overlay outline") }

        try tmux.send("?")
        screen = try tmux.waitFor(text: "keys and help")
        XCTAssertTrue(screen.contains("pan"), screen)
        try tmux.send("Escape")
        try tmux.waitFor("help closed") { !$0.contains("keys and help") }

        for (columns, rows) in [(80, 24), (200, 60)] {
            try tmux.resize(columns: columns, rows: rows)
            screen = try tmux.waitFor("\(columns)x\(rows) layout") { s in
                let lines = s.split(separator: "\n", omittingEmptySubsequences: false)
                return lines.count >= rows && lines[rows - 1].contains("q quit") && lines[1].hasSuffix("┐")
                    && lines[1].count == columns
            }
            XCTAssertTrue(screen.contains("Patients 2/3"), "selection survives the resize")
        }
        try tmux.resize(columns: 50, rows: 12)
        try tmux.waitFor(text: "Terminal too small: 50x12")
        try tmux.resize(columns: 100, rows: 30)
        try tmux.waitFor(text: "Patients 2/3")

        try tmux.send("q")
        try tmux.waitFor(text: "rc=0")
        XCTAssertFalse(try tmux.alternateScreenOn(), "left the alternate screen")
    }

    func testMouseClickSelectsAndWheelSteps() throws {
        let data = try dataset()
        let tmux = try session(columns: 120, rows: 36)
        defer { tmux.close() }
        try tmux.typeLine(command("--data \(data.path)"))
        try tmux.waitFor(text: "Patients 1/3")
        // X10 mouse reports (tmux-256color's kmous is ESC [ M): button + 32, then column and row + 33.
        func report(button: Int, x: Int, y: Int) -> String {
            "\u{1B}[M" + String(UnicodeScalar(UInt8(32 + button))) + String(UnicodeScalar(UInt8(33 + x))) + String(UnicodeScalar(UInt8(33 + y)))
        }
        try tmux.sendLiteral(report(button: 0, x: 4, y: 5))  // third patient row (title, border, header, rows)
        try tmux.waitFor(text: "Patients 3/3")
        try tmux.sendLiteral(report(button: 64 + 1, x: 90, y: 10))  // wheel down over the viewer: next slice
        try tmux.waitFor(text: "slice 2/")
        try tmux.send("q")
        try tmux.waitFor(text: "rc=0")
    }

    func testCtrlCRestoresTheTerminal() throws {
        let data = try dataset()
        let tmux = try session(columns: 90, rows: 26)
        defer { tmux.close() }
        try tmux.typeLine(command("--data \(data.path)"))
        try tmux.waitFor(text: "Patients 1/3")
        try tmux.send("C-c")
        // The interactive shell drops the rest of an interrupted command line, so ask for the status anew.
        try tmux.waitFor("the shell prompt") { _ in (try? tmux.alternateScreenOn()) == false }
        try tmux.typeLine("echo status=$?")
        try tmux.waitFor(text: "status=130")
    }

    func testTerminationAndCrashSignalsRestoreTheTerminal() throws {
        let data = try dataset()
        let tmux = try session(columns: 90, rows: 26)
        defer { tmux.close() }
        for (signal, status) in [(SIGTERM, 143), (SIGSEGV, 139)] {
            try tmux.typeLine("clear")
            try tmux.typeLine(command("--data \(data.path)"))
            try tmux.waitFor(text: "Patients 1/3")
            let shell = try tmux.panePID()
            let glia = try XCTUnwrap(Self.childProcess(of: shell), "glia's process under the pane's shell")
            XCTAssertEqual(kill(glia, signal), 0)
            // Unlike Ctrl-C, these signals reach only glia, so the command line goes on to print the status.
            try tmux.waitFor(text: "rc=\(status)")
            XCTAssertFalse(try tmux.alternateScreenOn(), "left the alternate screen after signal \(signal)")
        }
    }

    /// The first process whose parent is `parent` (read from /proc).
    private static func childProcess(of parent: pid_t) -> pid_t? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after the command name: state, ppid, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, pid_t(fields[1]) == parent { return pid }
        }
        return nil
    }

    func testPlainGliaOpensThePhantomSetAndBrokenThemeNamesItsLine() throws {
        let data = try dataset()
        // `glia` alone opens the phantom set from the cache folder; point the cache at a copy.
        let cache = Self.work.appendingPathComponent("cache")
        let phantom = cache.appendingPathComponent("glia/phantom-v1")
        if !FileManager.default.fileExists(atPath: phantom.path) {
            try FileManager.default.createDirectory(at: phantom.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: data, to: phantom)
        }
        let theme = Self.work.appendingPathComponent("broken.theme")
        try "# my theme\naccent = \"#12345\"\n".write(to: theme, atomically: true, encoding: .utf8)
        let tmux = try session(columns: 150, rows: 30)
        defer { tmux.close() }
        try tmux.typeLine(command("--theme \(theme.path)", environment: "XDG_CACHE_HOME=\(cache.path)"))
        // One condition for the whole frame: a capture can fall between two writes of it.
        try tmux.waitFor("the phantom set and the theme error") {
            $0.contains("Patients 1/3") && $0.contains("Glia  phantom") && $0.contains("broken.theme:2: ")
        }
        try tmux.send("q")
        try tmux.waitFor(text: "rc=0")
    }

    func testAsciiModeWhenTheLocaleIsNotUTF8() throws {
        let data = try dataset()
        let tmux = try session(columns: 100, rows: 30)
        defer { tmux.close() }
        try tmux.typeLine(command("--data \(data.path)", environment: "LANG=C LC_ALL=C"))
        let screen = try tmux.waitFor(text: "Patients 1/3")
        XCTAssertFalse(screen.contains("\u{2580}"))
        XCTAssertFalse(screen.contains("─"))
        XCTAssertTrue(screen.contains("+ Patients 1/3 ---"), screen)
        try tmux.send("q")
        try tmux.waitFor(text: "rc=0")
    }

    func testShowDrawsHalfBlocksInTheOverlayColour() throws {
        let data = try dataset()
        let patient = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasPrefix("SYN_") }.sorted()[0]
        let folder = data.appendingPathComponent(patient)
        // The phantom's tumor is in the middle slices; find one whose mask is not empty.
        var shown: String?
        var tumorSlice = 0
        for n in 8...16 {
            let image = folder.appendingPathComponent("\(patient)_\(n).tif").path
            let mask = folder.appendingPathComponent("\(patient)_\(n)_mask.tif").path
            let result = try Self.runGlia(["show", image, "--mask", mask, "--overlay", "outline", "--width", "64"],
                                          environment: ["COLORTERM": "truecolor"])
            XCTAssertEqual(result.status, 0, result.errors)
            let truth = Theme.dark.overlayTruth
            if result.output.contains("2;\(truth.r);\(truth.g);\(truth.b)m\u{2580}") || result.output.contains("2;\(truth.r);\(truth.g);\(truth.b);48;2;") {
                shown = result.output
                tumorSlice = n
                break
            }
        }
        let output = try XCTUnwrap(shown, "no slice showed the overlay colour in 24-bit")
        let lines = output.split(separator: "\n")
        XCTAssertEqual(lines.count, 33, "64 columns of a square slice are 32 rows, then the caption")
        XCTAssertEqual(lines.last, "\(patient)_\(tumorSlice).tif  256x256  channel FLAIR  truth outlined")

        // Truth and prediction together: the prediction's outline shows in the second colour.
        let mask = folder.appendingPathComponent("\(patient)_\(tumorSlice)_mask.tif").path
        let slice = folder.appendingPathComponent("\(patient)_\(tumorSlice).tif").path
        let both = try Self.runGlia(["show", slice, "--mask", mask, "--pred", mask,
                                     "--width", "64"], environment: ["COLORTERM": "truecolor"])
        let p = Theme.dark.overlayPrediction
        XCTAssertEqual(both.status, 0, both.errors)
        XCTAssertFalse(output.contains("2;\(p.r);\(p.g);\(p.b)"), "no prediction colour without --pred")
        XCTAssertTrue(both.output.contains("2;\(p.r);\(p.g);\(p.b)"), "prediction outline in its own colour")

        let image = folder.appendingPathComponent("\(patient)_12.tif").path
        let palette = try Self.runGlia(["show", image, "--width", "40"], environment: ["COLORTERM": ""])
        XCTAssertTrue(palette.output.contains("\u{1B}[0;38;5;"), "256-colour output without COLORTERM")
        XCTAssertFalse(palette.output.contains("38;2;"))
        let ascii = try Self.runGlia(["show", image, "--width", "40", "--ascii"])
        XCTAssertFalse(ascii.output.contains("\u{1B}["))
        XCTAssertTrue(ascii.output.contains("-") || ascii.output.contains("="))
    }

    func testShowFitsATallTerminalAndSaysWhatItShows() throws {
        let data = try dataset()
        let patient = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasPrefix("SYN_") }.sorted()[0]
        let image = data.appendingPathComponent(patient).appendingPathComponent("\(patient)_12.tif").path
        let tmux = try session(columns: 200, rows: 60)
        defer { tmux.close() }
        try tmux.typeLine("\(try Self.glia().path) show \(image)")
        let caption = "\(patient)_12.tif  256x256  channel FLAIR"
        var screen = try tmux.waitFor(text: caption)
        screen = try tmux.capture(history: true)
        // The slice's rows, on the screen and any scrolled off: 60 less the caption and the prompt,
        // so the whole slice stays on the screen (it printed 64 rows and lost 4).
        let rows = screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let captionRow = try XCTUnwrap(rows.firstIndex { $0.hasPrefix(caption) }, screen)
        let commandRow = try XCTUnwrap(rows.firstIndex { $0.contains(" show ") }, screen)
        XCTAssertEqual(captionRow - commandRow - 1, 58, "rows of the slice")
    }

    func testShowNamesEachBadPathInOneLine() throws {
        let data = try dataset()
        let missing = Self.work.appendingPathComponent("nope.tif").path
        var result = try Self.runGlia(["show", missing])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.errors.split(separator: "\n").count, 1, result.errors)
        XCTAssertTrue(result.errors.contains("\(missing): no such file"), result.errors)
        let patient = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasPrefix("SYN_") }.sorted()[0]
        let image = data.appendingPathComponent(patient).appendingPathComponent("\(patient)_1.tif").path
        result = try Self.runGlia(["show", image, "--mask", data.path])
        XCTAssertTrue(result.errors.contains("\(data.path): is a folder"), result.errors)
        result = try Self.runGlia(["show", image, "--pred", data.appendingPathComponent("data.csv").path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.errors.contains("data.csv"), result.errors)
        XCTAssertEqual(result.errors.split(separator: "\n").count, 1, result.errors)
    }
}
