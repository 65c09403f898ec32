import GliaData
import GliaTestSupport
import GliaTUI
import XCTest

// 256-colour mode keeps the overlay's hue (issue 15): a muted red is drawn red, not gray.
final class PaletteHueTests: XCTestCase {
    private func isGray(_ index: Int) -> Bool {
        let c = Palette256.color(at: index)
        return c.r == c.g && c.g == c.b
    }

    func testMutedRedOverADarkChannelStaysRed() {
        // Red fill at 45% over a dark windowed pixel: the plain nearest entry was gray 238.
        let index = Palette256.index(for: RGB(120, 44, 44))
        XCTAssertFalse(isGray(index), "entry \(index)")
        let c = Palette256.color(at: index)
        XCTAssertGreaterThan(c.r, c.g)
        XCTAssertEqual(c.g, c.b)
    }

    func testGraysAndFaintTintsStayGray() {
        XCTAssertTrue(isGray(Palette256.index(for: RGB(70, 70, 70))))
        XCTAssertTrue(isGray(Palette256.index(for: RGB(72, 68, 66))), "chroma below the threshold")
        XCTAssertTrue(isGray(Palette256.index(for: RGB(40, 31, 31))), "chroma 9")
        XCTAssertFalse(isGray(Palette256.index(for: RGB(48, 18, 18))), "a dark red tint has the luma of the darkest red entry")
    }

    func testWindowedOverlayOnADarkSliceKeepsItsHueInEveryCell() {
        // A dark slice (pre-contrast around 70) under a full truth mask, after [ x5 and { x3.
        let image = SliceImage(width: 16, height: 16, channels: 3, pixels: (0..<(16 * 16 * 3)).map { UInt8(60 + $0 % 24) })
        let mask = SliceMask(width: 16, height: 16, pixels: [UInt8](repeating: 1, count: 256))
        var viewer = ViewerPane()
        viewer.options.channel = .preContrast
        for _ in 0..<5 { viewer.perform(.narrowWindow) }
        for _ in 0..<3 { viewer.perform(.lowerLevel) }
        let cells = SliceRenderer.render(image: image, truth: mask, prediction: nil, options: viewer.options, columns: 16, rows: 8)
        for cell in cells.cells {
            let index = Palette256.index(for: cell.foreground)
            XCTAssertFalse(isGray(index), "\(cell.foreground) -> \(index)")
        }
    }

    func testTheIssuesSliceKeepsTheTruthRedIn256Colours() throws {
        guard let sample = Fixtures.sampleData else { throw XCTSkip("skipped: GLIA_SAMPLE_DATA is not set") }
        let folder = sample.appendingPathComponent("TCGA_CS_4941_19960909")
        let image = try TIFFImage.readImage(folder.appendingPathComponent("TCGA_CS_4941_19960909_13.tif")).value
        let mask = try TIFFImage.readMask(folder.appendingPathComponent("TCGA_CS_4941_19960909_13_mask.tif")).value
        XCTAssertGreaterThan(mask.area, 0, "slice 13 has a tumor")
        var viewer = ViewerPane()
        viewer.options.channel = .preContrast
        for _ in 0..<5 { viewer.perform(.narrowWindow) }
        for _ in 0..<3 { viewer.perform(.lowerLevel) }
        // The pixels of the half-block grid (100 x 100) the truth covers at least half.
        let raster = SliceRaster.render(image: image, truth: mask, prediction: nil, options: viewer.options, width: 100, height: 100)
        var covered = 0, gray = 0
        for (pixel, mark) in zip(raster.pixels, raster.marks) where mark & 1 != 0 {
            covered += 1
            if isGray(Palette256.index(for: pixel)) { gray += 1 }
        }
        XCTAssertGreaterThan(covered, 20)
        XCTAssertEqual(gray, 0, "\(gray) of \(covered) truth pixels became palette grays")
    }

    func testTrueColourOverSSHOpensTheDirectEntry() throws {
        XCTAssertEqual(ColorMode.directTerminfo(for: "xterm-256color"), "xterm-direct")
        XCTAssertEqual(ColorMode.directTerminfo(for: "tmux-256color"), "tmux-direct")
        XCTAssertEqual(ColorMode.directTerminfo(for: "xterm-kitty"), "kitty-direct")
        XCTAssertNil(ColorMode.directTerminfo(for: "xterm-direct"))
        XCTAssertNil(ColorMode.directTerminfo(for: "linux"))
        try MainActor.assumeIsolated {
            guard let screen = try? CursesScreen.offscreen(columns: 80, rows: 24, term: "xterm-256color",
                                                           environment: ["COLORTERM": "truecolor"]) else {
                throw XCTSkip("skipped: no xterm-256color terminfo")
            }
            defer { screen.close() }
            // xterm-direct comes with ncurses-term; without it the 256-colour entry is the honest answer.
            let installed = ["/usr/share/terminfo/x/xterm-direct", "/lib/terminfo/x/xterm-direct"]
                .contains { FileManager.default.fileExists(atPath: $0) }
            XCTAssertEqual(screen.colorMode, installed ? .direct : .palette256)
        }
    }
}
