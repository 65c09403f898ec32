import GliaData
import GliaTUI
import XCTest

final class AnsiEncoderTests: XCTestCase {
    private func overlayFrame() -> (CellBuffer, RenderOptions) {
        let image = SliceImage(width: 2, height: 2, channels: 3, pixels: Array(repeating: 0, count: 12))
        let mask = SliceMask(width: 2, height: 2, pixels: [1, 1, 1, 1])
        var options = RenderOptions()
        options.opacity = 1
        return (SliceRenderer.render(image: image, truth: mask, prediction: nil, options: options, columns: 2, rows: 1), options)
    }

    func testDirectColourWritesTheOverlayAsTwentyFourBitHalfBlocks() {
        let (frame, options) = overlayFrame()
        let text = AnsiEncoder.encode(frame, colorMode: .direct)
        let c = options.truthColor
        XCTAssertTrue(text.contains("38;2;\(c.r);\(c.g);\(c.b);48;2;\(c.r);\(c.g);\(c.b)m\u{2580}\u{2580}"), text)
        XCTAssertTrue(text.hasSuffix("\u{1B}[0m\n"))
    }

    func testPaletteModeUsesEntriesAboveSixteen() {
        let (frame, options) = overlayFrame()
        let text = AnsiEncoder.encode(frame, colorMode: .palette256)
        let index = Palette256.index(for: options.truthColor)
        XCTAssertGreaterThanOrEqual(index, 16)
        XCTAssertTrue(text.contains("38;5;\(index);48;5;\(index)m\u{2580}"), text)
    }

    func testNoColourModeIsPlainText() {
        let (frame, _) = overlayFrame()
        XCTAssertEqual(AnsiEncoder.encode(frame, colorMode: .none), "\u{2580}\u{2580}\n")
    }

    func testColourModeFromEnvironment() {
        XCTAssertEqual(ColorMode.fromEnvironment(["COLORTERM": "truecolor"]), .direct)
        XCTAssertEqual(ColorMode.fromEnvironment(["COLORTERM": "24bit"]), .direct)
        XCTAssertEqual(ColorMode.fromEnvironment(["COLORTERM": "yes"]), .palette256)
        XCTAssertEqual(ColorMode.fromEnvironment([:]), .palette256)
    }
}
