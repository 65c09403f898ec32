// Chart renderer: known series in, expected cells out, for braille, block and ASCII glyphs.
import GliaTUI
import XCTest

final class ChartTests: XCTestCase {
    private let red = RGB(255, 0, 0), blue = RGB(0, 0, 255), black = RGB(0, 0, 0), white = RGB(255, 255, 255)

    private func plot(_ series: [ChartSeries], columns: Int, rows: Int, glyphs: ChartGlyphs) -> CellBuffer {
        let (x, y) = Chart.bounds(of: series)!
        return Chart.plot(series, x: x, y: y, columns: columns, rows: rows, glyphs: glyphs, background: black, foreground: white)
    }

    func testBrailleDiagonalSetsOneDotPerColumn() {
        // 2x1 cells = 4x4 dots; (0,0)-(1,1) runs from dot (0,3) to dot (3,0).
        let line = ChartSeries(name: "a", color: red, points: [ChartPoint(x: 0, y: 0), ChartPoint(x: 1, y: 1)])
        let cells = plot([line], columns: 2, rows: 1, glyphs: .braille)
        // Left cell: dots (0,3)=0x40 and (1,2)=0x20; right cell: (0,1)=0x02 and (1,0)=0x08.
        XCTAssertEqual(cells[0, 0].character, Unicode.Scalar(0x2800 + 0x60)!)
        XCTAssertEqual(cells[1, 0].character, Unicode.Scalar(0x2800 + 0x0A)!)
        XCTAssertEqual(cells[0, 0].foreground, red)
    }

    func testFlatLineSitsMidHeightInEveryGlyphMode() {
        let flat = ChartSeries(name: "f", color: red, points: [ChartPoint(x: 0, y: 2), ChartPoint(x: 5, y: 2)])
        // Braille, 3 rows = 12 dot rows: 11 - round(5.5) = dot row 5 -> cell row 1, dot row 1 (0x02|0x10).
        let braille = plot([flat], columns: 3, rows: 3, glyphs: .braille)
        XCTAssertEqual(braille.plainText, ["   ", "\u{2812}\u{2812}\u{2812}", "   "])
        let ascii = plot([flat], columns: 4, rows: 3, glyphs: .ascii)
        XCTAssertEqual(ascii.plainText, ["    ", "****", "    "])
        // Block, 2 rows = 4 dot rows: 3 - round(1.5) = dot row 1 -> upper cell, lower half.
        let block = plot([flat], columns: 2, rows: 2, glyphs: .block)
        XCTAssertEqual(block.plainText, ["\u{2584}\u{2584}", "  "])
    }

    func testBlockVerticalStepFillsBothHalves() {
        // x 0 -> 1 in one column: a vertical line through all four dot rows of a 1x2 block plot.
        let step = ChartSeries(name: "s", color: red, points: [ChartPoint(x: 0, y: 0), ChartPoint(x: 0, y: 1)])
        let cells = Chart.plot([step], x: 0...1, y: 0...1, columns: 1, rows: 2, glyphs: .block, background: black, foreground: white)
        XCTAssertEqual(cells.plainText, ["\u{2588}", "\u{2588}"])
    }

    func testLaterSeriesColourWinsWhereCurvesMeet() {
        let a = ChartSeries(name: "a", color: red, points: [ChartPoint(x: 0, y: 0), ChartPoint(x: 1, y: 0)])
        let b = ChartSeries(name: "b", color: blue, points: [ChartPoint(x: 0, y: 0), ChartPoint(x: 1, y: 1)])
        let cells = plot([a, b], columns: 2, rows: 2, glyphs: .ascii)
        XCTAssertEqual(cells[0, 1].foreground, blue, "shared bottom-left cell")
        XCTAssertEqual(cells[1, 1].foreground, red, "only the flat curve reaches bottom-right")
        XCTAssertEqual(cells[1, 0].character, "*")
        XCTAssertEqual(cells[0, 0].character, " ")
    }

    func testNonFinitePointsAreSkippedAndEmptySeriesHaveNoBounds() {
        XCTAssertNil(Chart.bounds(of: [ChartSeries(name: "e", color: red, points: [])]))
        let s = ChartSeries(name: "n", color: red, points: [ChartPoint(x: 0, y: .nan), ChartPoint(x: 1, y: 3), ChartPoint(x: 2, y: 5)])
        let b = Chart.bounds(of: [s])!
        XCTAssertEqual(b.x, 1...2)
        XCTAssertEqual(b.y, 3...5)
    }

    func testFramedChartShowsLabelsLegendAndPlaceholder() {
        let style = PaneStyle(theme: .dark, glyphs: .unicode)
        var buffer = CellBuffer(columns: 30, rows: 8, fill: Cell(" ", foreground: white, background: black))
        Chart.draw([ChartSeries(name: "val", color: red, points: [])], title: "Loss", into: &buffer,
                   rect: Rect(x: 0, y: 0, width: 30, height: 8), glyphs: .braille, style: style)
        XCTAssertTrue(buffer.plainText.joined().contains("no data yet"))
        let s = ChartSeries(name: "val", color: red, points: [ChartPoint(x: 1, y: 0.25), ChartPoint(x: 2, y: 0.75)])
        Chart.draw([s], title: "Loss", into: &buffer, rect: Rect(x: 0, y: 0, width: 30, height: 8), glyphs: .braille, style: style)
        let text = buffer.plainText
        XCTAssertTrue(text[0].contains("Loss"))
        XCTAssertTrue(text[1].contains("0.750"), text.joined(separator: "\n"))
        XCTAssertTrue(text[5].contains("0.250"), text.joined(separator: "\n"))
        XCTAssertTrue(text[6].contains("val"))
        XCTAssertFalse(text.joined().contains("no data yet"))
    }
}
