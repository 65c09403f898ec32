import GliaData
import GliaTUI
import XCTest

// Sextants and quadrants: every cell pattern has its glyph, and cells decode back to the pixels.
final class TextModeTests: XCTestCase {
    private let white = RGB(250, 250, 250), black = RGB(5, 5, 5)

    func testEverySextantPatternHasItsOwnGlyph() {
        var glyphs = Set<Unicode.Scalar>()
        for p in 0..<64 {
            let glyph = BlockGlyphs.sextant(p)
            XCTAssertEqual(BlockGlyphs.sextantPattern(glyph), p, "pattern \(p)")
            glyphs.insert(glyph)
        }
        XCTAssertEqual(glyphs.count, 64)
        // The four patterns the sextant block leaves out are older characters.
        XCTAssertEqual(BlockGlyphs.sextant(0), " ")
        XCTAssertEqual(BlockGlyphs.sextant(63), "\u{2588}")
        XCTAssertEqual(BlockGlyphs.sextant(0b010101), "\u{258C}", "left column: left half block")
        XCTAssertEqual(BlockGlyphs.sextant(0b101010), "\u{2590}", "right column: right half block")
        XCTAssertEqual(BlockGlyphs.sextant(1), "\u{1FB00}", "top-left alone is SEXTANT-1")
        XCTAssertEqual(BlockGlyphs.sextant(62), "\u{1FB3B}", "all but top-left is SEXTANT-23456")
        let block = glyphs.filter { (0x1FB00...0x1FB3B).contains($0.value) }
        XCTAssertEqual(block.count, 60)
    }

    /// One row of cells, cell k drawn with pattern `patterns[k]` (bit set = white).
    private func patternRaster(_ patterns: [Int], cx: Int, cy: Int) -> Raster {
        var raster = Raster(width: patterns.count * cx, height: cy, background: black)
        raster.image = Rect(x: 0, y: 0, width: raster.width, height: raster.height)
        for (k, p) in patterns.enumerated() {
            for dy in 0..<cy {
                for dx in 0..<cx where p & (1 << (dy * cx + dx)) != 0 {
                    raster.pixels[dy * raster.width + k * cx + dx] = white
                }
            }
        }
        return raster
    }

    /// Pixels of `cells` rebuilt from each cell's glyph and colours.
    private func decode(_ cells: CellBuffer, cx: Int, cy: Int, pattern: (Unicode.Scalar) -> Int?) -> [RGB] {
        var pixels = [RGB](repeating: RGB(0, 0, 0), count: cells.columns * cx * cells.rows * cy)
        let width = cells.columns * cx
        for row in 0..<cells.rows {
            for column in 0..<cells.columns {
                let cell = cells[column, row]
                guard let p = pattern(cell.character) else {
                    XCTFail("cell \(column),\(row) has glyph U+\(String(cell.character.value, radix: 16))")
                    continue
                }
                for dy in 0..<cy {
                    for dx in 0..<cx {
                        pixels[(row * cy + dy) * width + column * cx + dx] = p & (1 << (dy * cx + dx)) != 0 ? cell.foreground : cell.background
                    }
                }
            }
        }
        return pixels
    }

    func testSextantCellsDecodeToTheExactPixelsForEveryPattern() {
        let raster = patternRaster(Array(0..<64), cx: 2, cy: 3)
        let cells = CellEncoder.encode(raster, mode: .sextants, options: RenderOptions())
        XCTAssertEqual(cells.columns, 64)
        XCTAssertEqual(decode(cells, cx: 2, cy: 3, pattern: BlockGlyphs.sextantPattern), raster.pixels)
    }

    func testQuadrantCellsDecodeToTheExactPixelsForEveryPattern() {
        let raster = patternRaster(Array(0..<16), cx: 2, cy: 2)
        let cells = CellEncoder.encode(raster, mode: .quadrants, options: RenderOptions())
        XCTAssertEqual(decode(cells, cx: 2, cy: 2, pattern: BlockGlyphs.quadrantPattern), raster.pixels)
    }

    func testThreeColoursInACellGiveTheTwoGroupMeans() {
        var raster = Raster(width: 2, height: 3, background: black)
        raster.image = Rect(x: 0, y: 0, width: 2, height: 3)
        raster.pixels = [RGB(0, 0, 0), RGB(200, 0, 0), RGB(10, 10, 10), RGB(220, 0, 0), RGB(0, 0, 0), RGB(210, 0, 0)]
        let cell = CellEncoder.encode(raster, mode: .sextants, options: RenderOptions())[0, 0]
        XCTAssertEqual(BlockGlyphs.sextantPattern(cell.character), 0b101010)
        XCTAssertEqual(cell.foreground, RGB(210, 0, 0))
        XCTAssertEqual(cell.background, RGB(3, 3, 3))
    }

    func testSextantsShowASliceAtThreeTimesTheRowsOfCells() {
        let size = 60
        let image = SliceImage(width: size, height: size, channels: 3, pixels: (0..<(size * size * 3)).map { UInt8(1 + ($0 / 3) % 250) })
        var options = RenderOptions()
        options.graphics = .sextants
        let cells = SliceRenderer.render(image: image, truth: nil, prediction: nil, options: options, columns: 60, rows: 20)
        XCTAssertEqual(cells.columns, 60)
        XCTAssertTrue(cells.cells.allSatisfy { BlockGlyphs.sextantPattern($0.character) != nil })
        XCTAssertTrue(cells.cells.contains { (0x1FB00...0x1FB3B).contains($0.character.value) }, "a gradient needs real sextants")
        // 20 rows of cells, as tall on screen as 40 cells are wide: the square slice takes 40 of the 60 columns.
        let used = (0..<60).filter { x in (0..<20).contains { cells[x, $0].background != options.background || cells[x, $0].character != " " } }
        XCTAssertEqual(used.count, 40, "columns used by the image")
    }

    func testGraphicsArgumentsParse() {
        XCTAssertEqual(GraphicsRequest(argument: "auto"), .auto)
        XCTAssertEqual(GraphicsRequest(argument: "KITTY"), .mode(.kitty))
        XCTAssertEqual(GraphicsRequest(argument: "sextants"), .mode(.sextants))
        XCTAssertEqual(GraphicsRequest(argument: "quadrants"), .mode(.quadrants))
        XCTAssertEqual(GraphicsRequest(argument: "blocks"), .mode(.blocks))
        XCTAssertEqual(GraphicsRequest(argument: "iterm"), .mode(.iterm))
        XCTAssertNil(GraphicsRequest(argument: "png"))
        XCTAssertEqual(GraphicsRequest.choices, "auto|kitty|sixel|iterm|sextants|quadrants|blocks|ascii")
    }

    func testTheGraphicsKeyCyclesTextModesAndTheLegendSaysWhich() {
        MainActor.assumeIsolated {
            let app = App(screen: MemoryScreen(columns: 120, rows: 40), source: AppTests.source(), theme: .dark, themeDirectories: [])
            XCTAssertEqual(app.graphicsMode, .blocks)
            XCTAssertEqual(KeyTable.standard.command(for: .character("I"), in: app.activeModes), .graphics)
            var seen: [GraphicsMode] = []
            for _ in 0..<4 {
                app.handle(.key(.character("I")))
                seen.append(app.graphicsMode)
                let text = app.frame().plainText.joined(separator: "\n")
                XCTAssertTrue(text.contains("graphics \(app.graphicsMode.label)"), text)
            }
            XCTAssertEqual(seen, [.ascii, .sextants, .quadrants, .blocks])
            XCTAssertTrue(app.images.isEmpty, "text modes send no images")
        }
    }

    func testAPixelModeLeavesTheImageAreaBlankAndHandsThePixelsToTheScreen() throws {
        try MainActor.assumeIsolated {
            let screen = MemoryScreen(columns: 120, rows: 40)
            let support = GraphicsSupport(pixelModes: [.kitty], mode: .kitty, cellSize: CellSize(width: 8, height: 16))
            let app = App(screen: screen, source: AppTests.source(), theme: .dark, themeDirectories: [], graphics: support)
            let frame = app.frame()
            screen.present(frame, images: app.images)
            let placement = try XCTUnwrap(screen.images.first)
            XCTAssertEqual(placement.mode, .kitty)
            // At 120 columns the viewer box starts at column 48 and is 72 wide; the image is inside its border.
            XCTAssertEqual(placement.rect.x, 49)
            XCTAssertEqual(placement.rect.width, 70)
            for y in placement.rect.y..<(placement.rect.y + placement.rect.height) {
                for x in placement.rect.x..<(placement.rect.x + placement.rect.width) {
                    XCTAssertEqual(frame[x, y].character, " ")
                    XCTAssertEqual(frame[x, y].background, Theme.dark.viewerBackground)
                }
            }
            // 16x16 slices: the terminal scales, so the raster is the pane's pixels over a whole factor
            // that leaves at least the slice's own 16 pixels across the image.
            let pixelsAcross = placement.rect.width * 8, pixelsDown = placement.rect.height * 16
            let factor = min(pixelsAcross, pixelsDown) / 16
            XCTAssertEqual(placement.raster.width, (pixelsAcross + factor - 1) / factor)
            XCTAssertGreaterThanOrEqual(placement.raster.image.width, 16)
            XCTAssertTrue(frame.plainText.joined().contains("graphics kitty"))
            // Help over the viewer: no image; closed again: the same image (same key, not re-sent).
            app.handle(.key(.character("?")))
            _ = app.frame()
            XCTAssertTrue(app.images.isEmpty)
            app.handle(.key(.escape))
            _ = app.frame()
            XCTAssertEqual(app.images.first?.key, placement.key)
            app.handle(.key(.character("j")))
            _ = app.frame()
            XCTAssertNotEqual(app.images.first?.key, placement.key, "another patient, another image")
        }
    }
}
