import GliaTUI
import XCTest

// Curses on /dev/null: the same pair allocation and cell writes as on a terminal, without one.
final class CursesScreenTests: XCTestCase {
    func testPaletteModeDrawsFramesOfRandomColours() throws {
        try MainActor.assumeIsolated {
            let screen = try CursesScreen.offscreen(columns: 120, rows: 40, term: "xterm-256color", environment: [:])
            defer { screen.close() }
            XCTAssertEqual(screen.colorMode, .palette256)
            try drawRandomFrames(on: screen, count: 8)
            XCTAssertEqual(screen.pairTableResets, 0, "240 x 240 palette pairs always fit the table")
        }
    }

    func testDirectColourSurvivesAFullPairTable() throws {
        try MainActor.assumeIsolated {
            // xterm-direct comes with ncurses-term, which CI does not install.
            guard let screen = try? CursesScreen.offscreen(columns: 200, rows: 60, term: "xterm-direct",
                                                           environment: ["COLORTERM": "truecolor"]) else {
                throw XCTSkip("skipped: the xterm-direct terminfo entry is not installed (package ncurses-term)")
            }
            defer { screen.close() }
            XCTAssertEqual(screen.colorMode, .direct)
            // 12,000 new colour pairs per frame: the 65,536-pair table fills during the sixth frame,
            // and the screen must start over instead of drawing wrong colours or failing.
            try drawRandomFrames(on: screen, count: 8)
            XCTAssertGreaterThanOrEqual(screen.pairTableResets, 1)
        }
    }
}

/// Presents `count` frames whose every cell has a colour pair never used before, and checks each
/// frame writes every cell, then that an unchanged frame writes none.
@MainActor
private func drawRandomFrames(on screen: CursesScreen, count: Int) throws {
    var state: UInt32 = 12345
    func next() -> UInt8 {
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
    var frame = CellBuffer(columns: screen.columns, rows: screen.rows, fill: Cell(" ", foreground: RGB(0, 0, 0), background: RGB(0, 0, 0)))
    for _ in 0..<count {
        for i in frame.cells.indices {
            frame.cells[i] = Cell("\u{2580}", foreground: RGB(next(), next(), next()), background: RGB(next(), next(), next()))
        }
        XCTAssertEqual(screen.present(frame), frame.cells.count)
    }
    XCTAssertEqual(screen.present(frame), 0)
}
