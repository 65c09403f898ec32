// End-to-end: the viewer's side-by-side key and window/level by mouse drag, in tmux as a person
// uses them. Drags are raw X10 mouse reports written into the pane (tmux-256color's kmous is
// ESC [ M; `send-keys -M` cannot drag): a press, then motion reports with the button held (button
// code 32 + 0), which xterm's 1002 mode makes the terminal send; that the app turned the mode on
// is read from tmux's pane flags.
import Foundation
import GliaTestSupport
import GliaTUI
import XCTest

final class ViewerSideBySideTests: XCTestCase {
    private static let bench = PhantomWorkbench(name: "side")

    override class func tearDown() {
        bench.remove()
        super.tearDown()
    }

    private func start(columns: Int, rows: Int) throws -> TmuxSession {
        guard TmuxSession.executable != nil else { throw XCTSkip("skipped: tmux is not installed") }
        let data = try Self.bench.dataset.get()
        let tmux = try TmuxSession(columns: columns, rows: rows)
        try tmux.typeLine("cd \(Self.bench.work.path) && TERM=tmux-256color COLORTERM= \(try WorkstationTests.glia().path) --data \(data.path)"
                          + " --graphics blocks; echo rc=$?")
        try tmux.waitFor(text: "Patients 1/4")
        return tmux
    }

    /// The screen's row `y` once it holds every one of `texts`.
    private func row(_ y: Int, of tmux: TmuxSession, holding texts: [String]) throws -> String {
        let screen = try tmux.waitFor("row \(y) with \(texts)") { screen in
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.count > y && texts.allSatisfy { lines[y].contains($0) }
        }
        return String(screen.split(separator: "\n", omittingEmptySubsequences: false)[y])
    }

    func testTheKeyCyclesThePanelsAt200x60And80x24() throws {
        for (columns, rows) in [(200, 60), (80, 24)] {
            let tmux = try start(columns: columns, rows: rows)
            defer { tmux.close() }
            try tmux.send("V")
            // The panels' labels head the viewer's first row (row 0 is the title bar, row 1 the box);
            // 80 columns leave panels 10 wide, labelled short.
            let labels = columns == 80 ? ["pre ", "FLAIR", "post "] : ["pre-contrast", "FLAIR", "post-contrast"]
            let channels = try row(2, of: tmux, holding: labels)
            XCTAssertTrue(channels.hasSuffix("│"), "the right border is whole: \(channels)")
            try tmux.send("V")
            let pair = try row(2, of: tmux, holding: ["truth", "pred"])
            XCTAssertFalse(pair.contains("FLAIR"), pair)
            try tmux.send("V")
            let single = try tmux.waitFor("single view") { screen in
                let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
                return lines.count > 2 && !lines[2].contains("truth") && !lines[2].contains("pre-contrast")
            }
            XCTAssertTrue(single.contains("Patients 1/4"))
            try tmux.send("q")
            try tmux.waitFor(text: "rc=0")
        }
    }

    func testADragOverTheImageChangesWindowAndLevel() throws {
        let tmux = try start(columns: 120, rows: 36)
        defer { tmux.close() }
        func report(button: Int, x: Int, y: Int) -> String {
            "\u{1B}[M" + String(UnicodeScalar(UInt8(32 + button))) + String(UnicodeScalar(UInt8(33 + x))) + String(UnicodeScalar(UInt8(33 + y)))
        }
        try tmux.waitFor(text: "window 255  level 128")
        // The app asked the terminal (here tmux) for button-motion reports, xterm's mode 1002.
        XCTAssertEqual(try tmux.command("display", "-p", "#{mouse_button_flag}").trimmingCharacters(in: .whitespacesAndNewlines), "1")
        // Press on the image (as a click, it shows the readout cursor), then move 5 columns left and
        // 5 rows down with the button held, then release.
        try tmux.sendLiteral(report(button: 0, x: 80, y: 15))
        try tmux.waitFor(text: "cursor ")
        for step in 1...5 { try tmux.sendLiteral(report(button: 32, x: 80 - step, y: 15 + step)) }
        // 255 / 1.06^5 = 190.6; 127.5 + 5 * 4 = 147.5; a drag is no click: the cursor is hidden again.
        try tmux.waitFor("the dragged window/level") { $0.contains("window 191  level 148") && !$0.contains("cursor ") }
        try tmux.sendLiteral(report(button: 3, x: 75, y: 20))
        try tmux.send("j")
        let screen = try tmux.waitFor(text: "slice 2/")
        XCTAssertTrue(screen.contains("window 191  level 148"), "the release changes nothing")
        // A fast drag: press, motion and release in one write (curses hands such reports out newest
        // first). 5 columns right and 5 rows up bring 191 back to 255 and 148 to 128.
        let burst = report(button: 0, x: 80, y: 15) + (1...5).map { report(button: 32, x: 80 + $0, y: 15 - $0) }.joined()
            + report(button: 3, x: 85, y: 10)
        try tmux.sendLiteral(burst)
        try tmux.waitFor("the fast drag") { $0.contains("window 255  level 128") && !$0.contains("cursor ") }
        try tmux.send("q")
        try tmux.waitFor(text: "rc=0")
    }
}
