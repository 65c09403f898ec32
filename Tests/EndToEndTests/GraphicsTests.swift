// End-to-end: pixel protocols inside tmux, with allow-passthrough off (the default since tmux 3.3)
// and on, and the graphics key. The pane has no client attached, so what reaches a real terminal
// cannot be seen; what tmux keeps in the pane can: kitty's placeholder cells (text), the status
// bar's note, and the text mode drawn instead.
import Foundation
import GliaTestSupport
import GliaTUI
import XCTest

final class GraphicsTests: XCTestCase {
    private static let bench = PhantomWorkbench(name: "graphics")

    override class func tearDown() {
        bench.remove()
        super.tearDown()
    }

    private func start(_ arguments: String, passthrough: Bool?) throws -> TmuxSession {
        guard TmuxSession.executable != nil else { throw XCTSkip("skipped: tmux is not installed") }
        let data = try Self.bench.dataset.get()
        let tmux = try TmuxSession(columns: 160, rows: 48)
        if let passthrough { try tmux.command("set", "-g", "allow-passthrough", passthrough ? "on" : "off") }
        try tmux.typeLine("cd \(Self.bench.work.path) && TERM=tmux-256color COLORTERM= \(try WorkstationTests.glia().path) --data \(data.path) "
                          + "\(arguments); echo rc=$?")
        return tmux
    }

    func testKittyWithPassthroughOffSaysSoAndDrawsHalfBlocks() throws {
        let tmux = try start("--graphics kitty", passthrough: nil)
        defer { tmux.close() }
        let screen = try tmux.waitFor(text: "allow-passthrough is off")
        XCTAssertTrue(screen.contains("\u{2580}"), "the slice in half blocks:\n\(screen)")
        XCTAssertFalse(screen.unicodeScalars.contains(KittyEncoder.placeholder))
        XCTAssertTrue(screen.contains("graphics half blocks"))
        try tmux.send("q")
        try tmux.waitFor(text: "rc=0")
    }

    func testKittyWithPassthroughOnPlacesTheImageWithPlaceholdersThenCyclesToSextants() throws {
        let tmux = try start("--graphics kitty", passthrough: true)
        defer { tmux.close() }
        var screen = try tmux.waitFor("placeholder cells") { $0.unicodeScalars.contains(KittyEncoder.placeholder) && $0.contains("q quit") }
        XCTAssertTrue(screen.contains("graphics kitty"))
        XCTAssertFalse(screen.contains("allow-passthrough"))
        // Every placeholder row carries its row number: the first cell of each row has the row's mark.
        let rows = screen.split(separator: "\n").filter { $0.unicodeScalars.contains(KittyEncoder.placeholder) }
        XCTAssertGreaterThan(rows.count, 20)
        for (n, row) in rows.enumerated() {
            let scalars = Array(row.unicodeScalars)
            let first = try XCTUnwrap(scalars.firstIndex(of: KittyEncoder.placeholder))
            XCTAssertEqual(KittyEncoder.diacriticValue(scalars[first + 1]), n, "row \(n)")
            XCTAssertEqual(KittyEncoder.diacriticValue(scalars[first + 2]), 0)
        }
        // The colour set just before the first placeholder cell names image 1 (256-colour index 1).
        let colored = Array(try tmux.capture(escapes: true).unicodeScalars)
        let first = try XCTUnwrap(colored.firstIndex(of: KittyEncoder.placeholder))
        let before = String(String.UnicodeScalarView(colored[max(0, first - 30)..<first]))
        XCTAssertTrue(before.contains("\u{1B}[38;5;1m"), "the placeholder colour names image 1: \(before.debugDescription)")
        // The graphics key: the next mode is sextants; the placeholders are painted over.
        try tmux.send("I")
        screen = try tmux.waitFor("sextants") { $0.contains("graphics sextants") && !$0.unicodeScalars.contains(KittyEncoder.placeholder) }
        XCTAssertTrue(screen.unicodeScalars.contains { (0x1FB00...0x1FB3B).contains($0.value) }, screen)
        try tmux.send("q")
        try tmux.waitFor(text: "rc=0")
    }

    func testALateAnswerToTheGraphicsQueryIsNotTakenForKeys() throws {
        let tmux = try start("", passthrough: nil)
        defer { tmux.close() }
        try tmux.waitFor("the first frame") { $0.contains("channel FLAIR") && $0.contains("q quit") }
        // DA1 and XTVERSION replies arriving after the query's cap: `[` would narrow the window, `c` cycle the channel.
        try tmux.sendLiteral("\u{1B}[?62;4;22c\u{1B}P>|XTerm(390)\u{1B}\\\u{1B}_Gi=31;OK\u{1B}\\")
        usleep(400_000)
        var screen = try tmux.capture()
        XCTAssertTrue(screen.contains("channel FLAIR") && screen.contains("window 255"), screen)
        try tmux.send("c")
        screen = try tmux.waitFor(text: "channel post-contrast")
        XCTAssertTrue(screen.contains("window 255"))
        try tmux.send("q")
        try tmux.waitFor(text: "rc=0")
    }

    func testBadGraphicsValueIsOneLineNamingIt() throws {
        let result = try WorkstationTests.runGlia(["--graphics", "png"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.errors.contains("--graphics must be one of auto|kitty|sixel|iterm|sextants|quadrants|blocks|ascii (got 'png')"),
                      result.errors)
    }

    func testShowPrintsASixelIntoAPipeWhenAskedByName() throws {
        let data = try Self.bench.dataset.get()
        let patient = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: data.path).sorted().first { !$0.hasSuffix(".csv") })
        let image = data.appendingPathComponent(patient).appendingPathComponent("\(patient)_5.tif")
        let result = try WorkstationTests.runGlia(["show", image.path, "--graphics", "sixel", "--width", "40"])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertTrue(result.output.contains("\u{1B}Pq\"1;1;"), "a sixel image")
        XCTAssertTrue(result.output.contains("channel FLAIR"))
    }
}
