import GliaData
import GliaTUI
import XCTest

// Reading like a radiologist: the viewer maximised, window/level presets, a pixel readout cursor.
final class ViewerReadingTests: XCTestCase {
    @MainActor private static func text(_ app: App) -> String { app.frame().plainText.joined(separator: "\n") }

    func testMaximiseHidesTheBrowserAndTabBringsItBack() {
        MainActor.assumeIsolated {
            let app = App(screen: MemoryScreen(columns: 120, rows: 40), source: AppTests.source(), theme: .dark, themeDirectories: [])
            XCTAssertTrue(Self.text(app).contains("Patients"))
            app.handle(.key(.character("M")))
            XCTAssertTrue(app.viewerMaximized)
            XCTAssertEqual(app.focus, .viewer)
            let frame = app.frame()
            XCTAssertFalse(frame.plainText.joined().contains("Patients"), "the lists are hidden")
            XCTAssertEqual(frame[0, 1].character, "┌", "the viewer box starts at the left edge")
            XCTAssertEqual(frame[119, 1].character, "┐")
            app.handle(.key(.character("j")))
            XCTAssertTrue(Self.text(app).contains("slice 2/"), "keys still walk the volume")
            app.handle(.key(.tab))
            XCTAssertFalse(app.viewerMaximized)
            XCTAssertTrue(Self.text(app).contains("Patients"))
        }
    }

    func testWindowPresetsCycleAndAreNamedInTheLegend() {
        var viewer = ViewerPane()
        var names: [String] = []
        for _ in 0..<WindowPreset.all.count + 1 {
            viewer.perform(.windowPreset)
            names.append(WindowPreset.all.first { $0.matches(viewer.options) }?.name ?? "none")
        }
        XCTAssertEqual(names, ["tissue", "lesion", "dark channel", "full range", "tissue"], "the default window is the full range")
        MainActor.assumeIsolated {
            let app = App(screen: MemoryScreen(columns: 160, rows: 40), source: AppTests.source(), theme: .dark, themeDirectories: [])
            app.handle(.key(.character("w")))
            let screen = Self.text(app)
            XCTAssertTrue(screen.contains("window 160") && screen.contains("level 110") && screen.contains("preset tissue"), screen)
            app.handle(.key(.character("[")))
            XCTAssertFalse(Self.text(app).contains("tissue"), "a changed window is no preset")
        }
    }

    func testTheReadoutShowsEveryChannelAndMaskUnderTheCursor() {
        // Pixel (x, y) holds x + 16 y in pre-contrast, twice that in FLAIR, 200 in post-contrast.
        var pixels: [UInt8] = []
        for y in 0..<16 { for x in 0..<16 { pixels += [UInt8(x + 16 * y), UInt8((2 * (x + 16 * y)) % 256), 200] } }
        var truth = [UInt8](repeating: 0, count: 256)
        truth[8 * 16 + 9] = 1
        let slice = LoadedSlice(image: SliceImage(width: 16, height: 16, channels: 3, pixels: pixels),
                                truth: SliceMask(width: 16, height: 16, pixels: truth))
        XCTAssertEqual(ViewerPane.readout(slice, at: ImagePoint(x: 9, y: 8)),
                       "cursor 9,8  pre 137  FLAIR 18  post 200  truth 1")
        MainActor.assumeIsolated {
            let app = App(screen: MemoryScreen(columns: 120, rows: 40), source: AppTests.source(), theme: .dark, themeDirectories: [])
            _ = app.frame()
            app.handle(.key(.character("x")))
            XCTAssertEqual(app.activeModes.first, .cursor)
            XCTAssertTrue(Self.text(app).contains("cursor 8,8  pre "), "the cursor starts at the centre")
            app.handle(.key(.right))
            app.handle(.key(.character("k")))
            XCTAssertTrue(Self.text(app).contains("cursor 9,7  pre "))
            XCTAssertEqual(app.browser.selectedPatient?.id, "TCGA_CS_4941_19960909", "k moved the cursor, not the list")
            app.handle(.key(.escape))
            XCTAssertNil(app.viewer.options.cursor)
            XCTAssertFalse(Self.text(app).contains("cursor 9,7"))
        }
    }

    func testTheCursorIsDrawnAndAClickSetsIt() throws {
        var options = RenderOptions()
        options.cursor = ImagePoint(x: 3, y: 5)
        let image = SliceImage(width: 16, height: 16, channels: 3, pixels: [UInt8](repeating: 40, count: 768))
        let raster = SliceRaster.render(image: image, truth: nil, prediction: nil, options: options, width: 32, height: 32)
        XCTAssertEqual(raster[7, 11], options.cursorColor, "centre of pixel (3, 5) at 2x")
        XCTAssertEqual(raster[0, 0], RGB(40, 40, 40))
        try MainActor.assumeIsolated {
            let app = App(screen: MemoryScreen(columns: 120, rows: 40), source: AppTests.source(), theme: .dark, themeDirectories: [])
            _ = app.frame()
            // The 16x16 slice fills the viewer's 34 image rows (68 half-block pixels): its centre is near the box centre.
            app.handle(.mouse(MouseEvent(kind: .click, x: 48 + 36, y: 2 + 17)))
            let cursor = try XCTUnwrap(app.viewer.options.cursor)
            XCTAssertEqual(Double(cursor.x), 8, accuracy: 1)
            XCTAssertEqual(Double(cursor.y), 8, accuracy: 1)
            XCTAssertEqual(app.focus, .viewer)
        }
    }
}
