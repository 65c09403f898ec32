import GliaData
import GliaTUI
import XCTest

// Side-by-side views (V) and window/level by mouse drag.
final class SideBySideTests: XCTestCase {
    @MainActor private static func text(_ app: App) -> String { app.frame().plainText.joined(separator: "\n") }

    /// A 16x16 slice whose channels differ (pre: a ramp, FLAIR: its mirror, post: flat 200), truth on
    /// the left half, prediction on the top half.
    private static let slice: LoadedSlice = {
        var pixels: [UInt8] = []
        for y in 0..<16 { for x in 0..<16 { pixels += [UInt8(x * 16), UInt8(255 - y * 16), 200] } }
        let truth = (0..<256).map { UInt8($0 % 16 < 8 ? 1 : 0) }
        let prediction = (0..<256).map { UInt8($0 < 128 ? 1 : 0) }
        return LoadedSlice(image: SliceImage(width: 16, height: 16, channels: 3, pixels: pixels),
                           truth: SliceMask(width: 16, height: 16, pixels: truth),
                           prediction: SliceMask(width: 16, height: 16, pixels: prediction))
    }()

    func testLayoutsCycleAndPanelsTileTheImageArea() {
        var viewer = ViewerPane()
        var seen: [ViewerLayout] = []
        for _ in 0..<4 {
            viewer.perform(.layout)
            seen.append(viewer.layout)
        }
        XCTAssertEqual(seen, [.channels, .truthPrediction, .single, .channels])

        let area = Rect(x: 10, y: 2, width: 100, height: 40)
        XCTAssertEqual(ViewerLayout.single.panels(in: area).map(\.image), [area])
        let three = ViewerLayout.channels.panels(in: area)
        XCTAssertEqual(three.map(\.image.x), [10, 43, 76], "32 columns each, one blank column between")
        XCTAssertEqual(three.map(\.image.width), [32, 32, 32])
        for panel in three {
            XCTAssertEqual(panel.title, Rect(x: panel.image.x, y: 2, width: 32, height: 1), "the label row heads the panel")
            XCTAssertEqual(panel.image.y, 3)
            XCTAssertEqual(panel.image.height, 39)
            XCTAssertLessThanOrEqual(panel.image.x + panel.image.width, area.x + area.width, "inside the area")
        }
        let two = ViewerLayout.truthPrediction.panels(in: area)
        XCTAssertEqual(two.map(\.image.x), [10, 60])
        XCTAssertEqual(two.map(\.image.width), [49, 49])
        // 80x24: the viewer's image area is about 44x16; too narrow an area has no panels at all.
        XCTAssertEqual(ViewerLayout.channels.panels(in: Rect(x: 35, y: 2, width: 44, height: 16)).map(\.image.width), [14, 14, 14])
        XCTAssertTrue(ViewerLayout.channels.panels(in: Rect(x: 0, y: 0, width: 7, height: 10)).isEmpty)
        XCTAssertEqual(ViewerLayout.channels.title(0, width: 20), "pre-contrast")
        XCTAssertEqual(ViewerLayout.channels.title(2, width: 8), "post")
    }

    func testEachTextPanelIsTheSingleViewOfItsChannel() {
        for graphics in [GraphicsMode.blocks, .sextants, .quadrants, .ascii] {
            var viewer = ViewerPane()
            viewer.layout = .channels
            let style = PaneStyle(theme: .dark, glyphs: graphics == .ascii ? .ascii : .unicode, graphics: graphics)
            let rect = Rect(x: 0, y: 0, width: 100, height: 30)
            var buffer = CellBuffer(columns: 100, rows: 30, fill: Cell(" ", foreground: RGB(0, 0, 0), background: RGB(0, 0, 0)))
            viewer.draw(into: &buffer, rect: rect, focused: true, style: style, slice: Self.slice, sliceID: "s", caption: "c", message: nil)
            let panels = ViewerLayout.channels.panels(in: Rect(x: 1, y: 1, width: 98, height: 26))
            XCTAssertEqual(panels.count, 3)
            for (index, panel) in panels.enumerated() {
                var options = viewer.options
                options.channel = ViewerChannel(rawValue: index)!
                let single = SliceRenderer.render(image: Self.slice.image, truth: Self.slice.truth, prediction: Self.slice.prediction,
                                                  options: options, columns: panel.image.width, rows: panel.image.height)
                for y in 0..<panel.image.height {
                    for x in 0..<panel.image.width where buffer[panel.image.x + x, panel.image.y + y] != single[x, y] {
                        return XCTFail("\(graphics) panel \(index) differs from the single view of its channel at \(x),\(y)")
                    }
                }
                XCTAssertTrue(buffer.plainText[1].contains(ViewerChannel(rawValue: index)!.label), "labelled")
            }
        }
    }

    func testPixelPanelsAreTheSingleViewsOfTheirChannelOrMask() throws {
        let cell = CellSize(width: 8, height: 16)
        for graphics in [GraphicsMode.kitty, .sixel, .iterm] {
            var viewer = ViewerPane()
            let style = PaneStyle(theme: .dark, glyphs: .unicode, graphics: graphics, cellSize: cell)
            var buffer = CellBuffer(columns: 120, rows: 40, fill: Cell(" ", foreground: RGB(0, 0, 0), background: RGB(0, 0, 0)))
            func draw() {
                viewer.draw(into: &buffer, rect: Rect(x: 0, y: 0, width: 120, height: 40), focused: true, style: style,
                            slice: Self.slice, sliceID: "s", caption: "c", message: nil)
            }
            viewer.layout = .channels
            draw()
            XCTAssertEqual(viewer.placements.count, 3, "one image per panel")
            XCTAssertEqual(Set(viewer.placements.map(\.key)).count, 3, "each tracked on its own")
            for (index, placement) in viewer.placements.enumerated() {
                var options = viewer.options
                options.channel = ViewerChannel(rawValue: index)!
                let single = ViewerPane.pixelRaster(Self.slice, options: options, columns: placement.rect.width,
                                                    rows: placement.rect.height, cellSize: cell)
                XCTAssertEqual(placement.raster, single, "\(graphics) panel \(index)")
            }
            // Pre-contrast ramps left to right, FLAIR top to bottom: the panels are not the same image.
            XCTAssertNotEqual(viewer.placements[0].raster.pixels, viewer.placements[1].raster.pixels)

            viewer.layout = .truthPrediction
            draw()
            XCTAssertEqual(viewer.placements.count, 2)
            let masks = [LoadedSlice(image: Self.slice.image, truth: Self.slice.truth),
                         LoadedSlice(image: Self.slice.image, truth: nil, prediction: Self.slice.prediction)]
            for (placement, slice) in zip(viewer.placements, masks) {
                XCTAssertEqual(placement.raster, ViewerPane.pixelRaster(slice, options: viewer.options, columns: placement.rect.width,
                                                                        rows: placement.rect.height, cellSize: cell))
            }
            // The panel at the size of the single view is the single view.
            viewer.layout = .single
            draw()
            let whole = try XCTUnwrap(viewer.placements.first)
            XCTAssertEqual(whole.raster, ViewerPane.pixelRaster(Self.slice, options: viewer.options, columns: whole.rect.width,
                                                                rows: whole.rect.height, cellSize: cell))
        }
    }

    func testTheKeyCyclesLabelsAndNothingCrossesTheBordersAt80x24() {
        MainActor.assumeIsolated {
            for (columns, rows) in [(200, 60), (80, 24)] {
                let app = App(screen: MemoryScreen(columns: columns, rows: rows), source: AppTests.source(), theme: .dark, themeDirectories: [])
                XCTAssertFalse(app.frame().plainText[2].contains("FLAIR"), "single view first")
                app.handle(.key(.character("V")))
                var frame = app.frame()
                let heads = frame.plainText[2]
                XCTAssertTrue(heads.contains("FLAIR") && heads.contains(columns == 80 ? "pre" : "pre-contrast"), heads)
                for y in 1..<(rows - 1) {
                    XCTAssertEqual(frame[columns - 1, y].character, y == 1 ? "┐" : y == rows - 2 ? "┘" : "│", "right border, row \(y)")
                }
                app.handle(.key(.character("V")))
                frame = app.frame()
                XCTAssertTrue(frame.plainText[2].contains("truth") && frame.plainText[2].contains("pred"), frame.plainText[2])
                app.handle(.key(.character("V")))
                XCTAssertEqual(app.viewer.layout, .single)
            }
        }
    }

    func testAClickInAnyPanelSetsTheCursorOnTheSamePixel() throws {
        try MainActor.assumeIsolated {
            let app = App(screen: MemoryScreen(columns: 200, rows: 60), source: AppTests.source(), theme: .dark, themeDirectories: [])
            app.handle(.key(.character("M")))
            app.handle(.key(.character("V")))
            _ = app.frame()
            // Maximised: the viewer spans 200 columns, panels 65 wide from x = 1, 67 and 133; each panel's
            // top-left image pixel is near its left edge, a few rows below its label.
            var points: [ImagePoint] = []
            for left in [1, 67, 133] {
                app.handle(.mouse(MouseEvent(kind: .click, x: left + 32, y: 30)))
                points.append(try XCTUnwrap(app.viewer.options.cursor))
            }
            XCTAssertTrue(points.allSatisfy { $0 == points[0] }, "the same pixel in each panel: \(points)")
            XCTAssertTrue(Self.text(app).contains("cursor \(points[0].x),\(points[0].y)  pre "), "the readout names every channel")
        }
    }

    func testDragRightWidensTheWindowAndDownRaisesTheLevel() {
        let drag = WindowDrag(x: 10, y: 10, window: 100, level: 100, cursorBefore: nil)
        XCTAssertEqual(drag.windowLevel(x: 10, y: 10).window, 100)
        XCTAssertEqual(drag.windowLevel(x: 20, y: 10).window, 100 * pow(1.06, 10), accuracy: 1e-9)
        XCTAssertLessThan(drag.windowLevel(x: 0, y: 10).window, 100, "left narrows")
        XCTAssertEqual(drag.windowLevel(x: 10, y: 15).level, 120)
        XCTAssertEqual(drag.windowLevel(x: 10, y: 5).level, 80, "up lowers")
        XCTAssertEqual(drag.windowLevel(x: 500, y: 500).window, 510, "kept in the keys' range")
        XCTAssertEqual(drag.windowLevel(x: -500, y: -500).window, 8)
        XCTAssertEqual(drag.windowLevel(x: 10, y: 500).level, 255)
        XCTAssertEqual(drag.windowLevel(x: 10, y: -500).level, 0)

        MainActor.assumeIsolated {
            let app = App(screen: MemoryScreen(columns: 120, rows: 40), source: AppTests.source(), theme: .dark, themeDirectories: [])
            _ = app.frame()
            app.handle(.mouse(MouseEvent(kind: .click, x: 84, y: 19)))
            app.handle(.mouse(MouseEvent(kind: .drag, x: 94, y: 19)))
            app.handle(.mouse(MouseEvent(kind: .drag, x: 94, y: 24)))
            XCTAssertEqual(app.viewer.options.window, min(510, 255 * pow(1.06, 10)), accuracy: 1e-9)
            XCTAssertEqual(app.viewer.options.level, 147.5)
            XCTAssertNil(app.viewer.options.cursor, "a drag is no click: the cursor stays hidden")
            XCTAssertTrue(Self.text(app).contains("level 148"), "the legend follows")
            // Back to the press: the view as it was.
            app.handle(.mouse(MouseEvent(kind: .drag, x: 84, y: 19)))
            XCTAssertEqual(app.viewer.options.window, 255, accuracy: 1e-9)
            XCTAssertEqual(app.viewer.options.level, 127.5)
            // A press on a list ends the drag; motion then changes nothing, and the list keeps its row.
            app.handle(.mouse(MouseEvent(kind: .click, x: 5, y: 5)))
            let patient = app.browser.selectedPatient?.id
            app.handle(.mouse(MouseEvent(kind: .drag, x: 5, y: 9)))
            XCTAssertEqual(app.viewer.options.level, 127.5)
            XCTAssertEqual(app.browser.selectedPatient?.id, patient)
            // A click on the image still sets the readout cursor.
            app.handle(.mouse(MouseEvent(kind: .click, x: 84, y: 19)))
            XCTAssertNotNil(app.viewer.options.cursor)
        }
    }
}
