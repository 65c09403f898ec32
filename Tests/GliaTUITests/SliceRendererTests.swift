import GliaData
import GliaTUI
import XCTest

final class SliceRendererTests: XCTestCase {
    /// A one-channel-per-value image: every channel of pixel (x, y) holds `values[y][x]`.
    private func gray(_ values: [[UInt8]]) -> SliceImage {
        let h = values.count, w = values[0].count
        return SliceImage(width: w, height: h, channels: 3, pixels: values.flatMap { $0.flatMap { [$0, $0, $0] } })
    }

    private func g(_ v: UInt8) -> RGB { RGB(v, v, v) }

    func testOneSourcePixelPerHalfCellGivesUpperForegroundLowerBackground() {
        let image = gray([[10, 20, 30, 40], [50, 60, 70, 80], [90, 100, 110, 120], [130, 140, 150, 160]])
        let cells = SliceRenderer.render(image: image, truth: nil, prediction: nil, options: RenderOptions(), columns: 4, rows: 2)
        XCTAssertEqual(cells.columns, 4)
        XCTAssertEqual(cells.rows, 2)
        for y in 0..<2 {
            for x in 0..<4 {
                let cell = cells[x, y]
                XCTAssertEqual(cell.character, SliceRenderer.halfBlock)
                XCTAssertEqual(cell.foreground, g(image[x, 2 * y, 1]), "upper pixel of cell \(x),\(y)")
                XCTAssertEqual(cell.background, g(image[x, 2 * y + 1, 1]), "lower pixel of cell \(x),\(y)")
            }
        }
    }

    func testDownscaleAveragesTheCoveredArea() {
        // 4x4 -> 2x2 pixels: each output pixel is the mean of a 2x2 block.
        let image = gray([[0, 100, 10, 10], [200, 100, 10, 10], [50, 50, 255, 255], [50, 50, 255, 255]])
        let cells = SliceRenderer.render(image: image, truth: nil, prediction: nil, options: RenderOptions(), columns: 2, rows: 1)
        XCTAssertEqual(cells[0, 0].foreground, g(100))
        XCTAssertEqual(cells[1, 0].foreground, g(10))
        XCTAssertEqual(cells[0, 0].background, g(50))
        XCTAssertEqual(cells[1, 0].background, g(255))
    }

    func testFractionalDownscaleWeighsPartialPixels() {
        // 3 source pixels -> 2 output pixels: each covers 1.5 pixels, so the middle pixel counts half.
        let image = gray([[0, 90, 180], [0, 90, 180]])
        var options = RenderOptions()
        options.background = RGB(1, 2, 3)
        let cells = SliceRenderer.render(image: image, truth: nil, prediction: nil, options: options, columns: 2, rows: 1)
        // Horizontal fit: 3 px wide into 2 columns; vertical 2 px into 2 half cells scaled 2/3 -> 1 px.
        XCTAssertEqual(cells[0, 0].foreground, g(30))   // (0 * 1 + 90 * 0.5) / 1.5
        XCTAssertEqual(cells[1, 0].foreground, g(150))  // (90 * 0.5 + 180) / 1.5
    }

    func testWideImageIsLetterboxedAndCentred() {
        let image = gray([[100, 100, 100, 100], [200, 200, 200, 200]])
        var options = RenderOptions()
        options.background = RGB(7, 8, 9)
        let cells = SliceRenderer.render(image: image, truth: nil, prediction: nil, options: options, columns: 4, rows: 2)
        // Pixel grid 4x4, image 4x2 at scale 1, one margin pixel row above and below.
        XCTAssertEqual(cells[0, 0].foreground, RGB(7, 8, 9))
        XCTAssertEqual(cells[0, 0].background, g(100))
        XCTAssertEqual(cells[3, 1].foreground, g(200))
        XCTAssertEqual(cells[3, 1].background, RGB(7, 8, 9))
    }

    func testWindowAndLevelMapTheSpanToBlackThroughWhite() {
        let image = gray([[0, 50, 100, 200], [25, 75, 120, 255]])
        var options = RenderOptions()
        options.window = 100
        options.level = 50
        let cells = SliceRenderer.render(image: image, truth: nil, prediction: nil, options: options, columns: 4, rows: 1)
        XCTAssertEqual(cells[0, 0].foreground, g(0))
        XCTAssertEqual(cells[1, 0].foreground, g(128))  // 50 is the level: (50 - 0) / 100 * 255 = 127.5
        XCTAssertEqual(cells[2, 0].foreground, g(255))
        XCTAssertEqual(cells[3, 0].foreground, g(255))
        XCTAssertEqual(cells[0, 0].background, g(64))   // 25 / 100 * 255 = 63.75
    }

    func testChannelChoiceAndComposite() {
        let image = SliceImage(width: 1, height: 2, channels: 3, pixels: [10, 20, 30, 40, 50, 60])
        var options = RenderOptions()
        options.channel = .postContrast
        var cells = SliceRenderer.render(image: image, truth: nil, prediction: nil, options: options, columns: 1, rows: 1)
        XCTAssertEqual(cells[0, 0].foreground, g(30))
        XCTAssertEqual(cells[0, 0].background, g(60))
        options.channel = .composite
        cells = SliceRenderer.render(image: image, truth: nil, prediction: nil, options: options, columns: 1, rows: 1)
        XCTAssertEqual(cells[0, 0].foreground, RGB(10, 20, 30))
        XCTAssertEqual(cells[0, 0].background, RGB(40, 50, 60))
    }

    func testFilledTruthBlendsWithOpacityAndPredictionIsOutlinedInItsColour() {
        let size = 6
        let image = gray(Array(repeating: Array(repeating: 100, count: size), count: size))
        let truth = SliceMask(width: size, height: size, pixels: Array(repeating: 1, count: size * size))
        var pred = [UInt8](repeating: 0, count: size * size)
        for y in 1..<5 { for x in 1..<5 { pred[y * size + x] = 1 } }
        var options = RenderOptions()
        options.opacity = 0.5
        let cells = SliceRenderer.render(image: image, truth: truth, prediction: SliceMask(width: size, height: size, pixels: pred),
                                         options: options, columns: size, rows: size / 2)
        let filled = g(100).blended(with: options.truthColor, alpha: 0.5)
        XCTAssertEqual(cells[0, 0].foreground, filled)             // pixel (0,0): truth only
        XCTAssertEqual(cells[1, 0].background, options.predictionColor)  // pixel (1,1): prediction edge
        XCTAssertEqual(cells[2, 1].foreground, filled)             // pixel (2,2): inside the prediction, not its edge
        XCTAssertEqual(cells[2, 1].background, filled)
    }

    func testOutlineMarksOnlyTheBorderOfTheMask() {
        let size = 6
        let image = gray(Array(repeating: Array(repeating: 40, count: size), count: size))
        var pixels = [UInt8](repeating: 0, count: size * size)
        for y in 1..<5 { for x in 1..<5 { pixels[y * size + x] = 1 } }
        var options = RenderOptions()
        options.overlay = .outline
        let cells = SliceRenderer.render(image: image, truth: SliceMask(width: size, height: size, pixels: pixels), prediction: nil,
                                         options: options, columns: size, rows: size / 2)
        func pixel(_ x: Int, _ y: Int) -> RGB { y % 2 == 0 ? cells[x, y / 2].foreground : cells[x, y / 2].background }
        for y in 0..<size {
            for x in 0..<size {
                let inside = (1..<5).contains(x) && (1..<5).contains(y)
                let border = inside && (x == 1 || x == 4 || y == 1 || y == 4)
                XCTAssertEqual(pixel(x, y), border ? options.truthColor : g(40), "pixel \(x),\(y)")
            }
        }
        options.overlay = .off
        let plain = SliceRenderer.render(image: image, truth: SliceMask(width: size, height: size, pixels: pixels), prediction: nil,
                                         options: options, columns: size, rows: size / 2)
        XCTAssertTrue(plain.cells.allSatisfy { $0.foreground == g(40) && $0.background == g(40) })
    }

    func testZoomShowsTheQuadrantAroundThePanPoint() {
        var rows: [[UInt8]] = []
        for y in 0..<8 { rows.append((0..<8).map { x in x < 4 ? (y < 4 ? 10 : 30) : (y < 4 ? 20 : 40) }) }
        var options = RenderOptions()
        options.zoom = 2
        options.centerX = 0.25
        options.centerY = 0.75
        let cells = SliceRenderer.render(image: gray(rows), truth: nil, prediction: nil, options: options, columns: 4, rows: 2)
        XCTAssertTrue(cells.cells.allSatisfy { $0.foreground == g(30) && $0.background == g(30) })
    }

    func testAsciiModeUsesTheRampAndMarksMasks() {
        let image = gray([[0, 255, 255], [0, 255, 255]])
        let mask = SliceMask(width: 3, height: 2, pixels: [0, 0, 1, 0, 0, 1])
        var options = RenderOptions()
        options.graphics = .ascii
        let cells = SliceRenderer.render(image: image, truth: mask, prediction: nil, options: options, columns: 3, rows: 1)
        XCTAssertEqual(cells.plainText, [" @o"])
        XCTAssertEqual(cells[2, 0].foreground, options.truthColor)
    }

    func testRendersAnyImageToTheRequestedSize() {
        let slices = Phantom.render(patient: 0, configuration: Phantom.Configuration(patients: 1, slices: 20...20, seed: 3))
        let (image, mask) = slices[10]
        for (columns, rows) in [(1, 1), (7, 3), (80, 24), (200, 60), (13, 90)] {
            let cells = SliceRenderer.render(image: image, truth: mask, prediction: mask, options: RenderOptions(), columns: columns, rows: rows)
            XCTAssertEqual(cells.cells.count, columns * rows)
            XCTAssertTrue(cells.cells.contains { $0.character == SliceRenderer.halfBlock }, "\(columns)x\(rows)")
        }
    }
}
