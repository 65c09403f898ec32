import GliaTUI
import XCTest

// Linux XCTest cannot call @MainActor test methods (it casts them to plain functions and
// aborts), so each test enters the main actor itself; tests run on the main thread.
final class CellBufferTests: XCTestCase {
    private static let white = RGB(255, 255, 255), black = RGB(0, 0, 0)

    func testTextIsClippedAndWideScalarsBecomeQuestionMarks() {
        MainActor.assumeIsolated {
            var buffer = CellBuffer(columns: 6, rows: 2, fill: Cell(" ", foreground: Self.white, background: Self.black))
            let used = buffer.text("ab漢cdefg", x: 1, y: 1, foreground: Self.white, background: Self.black)
            XCTAssertEqual(used, 5)
            XCTAssertEqual(buffer.plainText, ["      ", " ab?cd"])
        }
    }

    func testMemoryScreenWritesOnlyChangedCells() {
        MainActor.assumeIsolated {
            let screen = MemoryScreen(columns: 4, rows: 3)
            var frame = CellBuffer(columns: 4, rows: 3, fill: Cell(" ", foreground: Self.white, background: Self.black))
            XCTAssertEqual(screen.present(frame), 12)
            frame.put(Cell("x", foreground: Self.white, background: Self.black), x: 2, y: 1)
            frame.put(Cell(" ", foreground: Self.white, background: RGB(1, 2, 3)), x: 0, y: 0)
            XCTAssertEqual(screen.present(frame), 2)
            XCTAssertEqual(screen.present(frame), 0)
            screen.invalidate()
            XCTAssertEqual(screen.present(frame), 12)
        }
    }

    func testPaletteAvoidsSystemColoursAndRoundTripsItsEntries() {
        MainActor.assumeIsolated {
            for index in 16...255 {
                XCTAssertEqual(Palette256.index(for: Palette256.color(at: index)), index, "entry \(index)")
            }
            XCTAssertEqual(Palette256.index(for: RGB(0, 0, 0)), 16)
            XCTAssertEqual(Palette256.index(for: RGB(255, 0, 0)), 196)
            XCTAssertGreaterThanOrEqual(Palette256.index(for: RGB(3, 3, 3)), 16)
        }
    }
}
