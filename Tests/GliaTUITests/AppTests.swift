import Foundation
import GliaData
import GliaTUI
import XCTest

// Linux XCTest cannot call @MainActor test methods (it casts them to plain functions and
// aborts), so each test enters the main actor itself; tests run on the main thread.
final class AppTests: XCTestCase {
    /// Three patients of 16x16 slices; slice n of patient p has a tumor of n*p pixels when n is even.
    @MainActor
    static func source(predictions: Bool = false) -> MemorySliceSource {
        let ids = ["TCGA_CS_4941_19960909", "TCGA_DU_5849_19950405", "TCGA_HT_7608_19980727"]
        var patients: [PatientSummary] = []
        var slices: [String: LoadedSlice] = [:]
        for (p, id) in ids.enumerated() {
            var rows: [SliceSummary] = []
            for n in 1...(6 + p) {
                let area = n % 2 == 0 ? n * (p + 1) : 0
                var mask = [UInt8](repeating: 0, count: 256)
                for i in 0..<area { mask[i] = 1 }
                let image = SliceImage(width: 16, height: 16, channels: 3, pixels: (0..<768).map { UInt8(($0 * 7 + n) % 256) })
                slices["\(id)#\(n)"] = LoadedSlice(image: image, truth: SliceMask(width: 16, height: 16, pixels: mask))
                rows.append(SliceSummary(number: n, tumorArea: area, predictedProbability: predictions ? Double(n) / 10 : nil,
                                         triage: predictions && n == 2 ? "confirmed" : nil))
            }
            patients.append(PatientSummary(id: id, institution: String(id.split(separator: "_")[1]), slices: rows,
                                           metadata: ["Patient": String(id.prefix(12)), "age": "\(40 + p)"]))
        }
        return MemorySliceSource(title: "memory", metadataColumns: ["Patient", "age"], patients: patients, slices: slices)
    }

    func testFirstFrameShowsPatientsSlicesViewerAndStatus() {
        MainActor.assumeIsolated {
            let (app, _) = makeApp()
            let frame = app.frame()
            let screen = frame.plainText.joined(separator: "\n")
            XCTAssertTrue(screen.contains("Patients 1/3"))
            XCTAssertTrue(screen.contains("TCGA_DU_5849_19950405 DU"))
            XCTAssertTrue(screen.contains("Slices 1/6"))
            XCTAssertTrue(screen.contains("age"), "metadata column shown when there is room")
            XCTAssertTrue(screen.contains("ground truth"))
            XCTAssertTrue(frame.plainText[39].contains("? help"))
            XCTAssertTrue(frame.cells.contains { $0.character == SliceRenderer.halfBlock })
            // The focused pane's border uses the focus colour.
            XCTAssertEqual(frame[0, 1].foreground, Theme.dark.focus)
            XCTAssertEqual(frame[0, 30].foreground, Theme.dark.border)
        }
    }

    func testMovingThroughPatientsAndSlicesUpdatesTheViewer() {
        MainActor.assumeIsolated {
            let (app, _) = makeApp()
            press(app, .character("j"))
            XCTAssertEqual(app.browser.selectedPatient?.id, "TCGA_DU_5849_19950405")
            XCTAssertTrue(text(app).contains("Slices 1/7"))
            press(app, .tab, .down, .down)
            XCTAssertEqual(app.focus, .slices)
            XCTAssertEqual(app.browser.selectedSlice?.number, 3)
            XCTAssertTrue(text(app).contains("TCGA_DU_5849_19950405  slice 3/7"))
            press(app, .tab, .character("j"))
            XCTAssertEqual(app.focus, .viewer)
            XCTAssertEqual(app.browser.selectedSlice?.number, 4, "j in the viewer steps to the next slice")
            XCTAssertTrue(text(app).contains("slice 4/7  tumor"))
            press(app, .end)
            XCTAssertEqual(app.browser.selectedSlice?.number, 7)
            press(app, .backTab, .backTab, .end)
            XCTAssertEqual(app.browser.selectedPatient?.id, "TCGA_HT_7608_19980727")
            XCTAssertEqual(app.browser.selectedSlice?.number, 1, "a new patient starts at its first slice")
        }
    }

    func testFilterNarrowsThePatientListAndEscapeClearsIt() {
        MainActor.assumeIsolated {
            let (app, _) = makeApp()
            press(app, .character("/"), .character("h"), .character("t"))
            XCTAssertEqual(app.filterInput, "ht")
            XCTAssertTrue(text(app).contains("Filter patients: ht"))
            XCTAssertEqual(app.browser.patientRows.count, 1)
            press(app, .enter)
            XCTAssertNil(app.filterInput)
            XCTAssertTrue(text(app).contains("Patients 1/1 /ht"))
            XCTAssertEqual(app.browser.selectedPatient?.id, "TCGA_HT_7608_19980727")
            press(app, .character("/"), .escape)
            XCTAssertEqual(app.browser.patientRows.count, 3)
            XCTAssertEqual(app.browser.selectedPatient?.id, "TCGA_HT_7608_19980727", "selection kept by identity")
        }
    }

    func testSortCyclesSliceOrders() {
        MainActor.assumeIsolated {
            let (app, _) = makeApp(predictions: true)
            press(app, .tab, .character("s"))
            XCTAssertEqual(app.browser.sliceSort, .truth)
            press(app, .character("s"))
            XCTAssertEqual(app.browser.sliceSort, .tumorArea)
            XCTAssertEqual(app.browser.selectedSlice?.number, 1, "selection kept across a sort")
            press(app, .home)
            XCTAssertEqual(app.browser.selectedSlice?.number, 6, "largest tumor first")
            press(app, .character("s"), .home)
            XCTAssertEqual(app.browser.sliceSort, .probability)
            XCTAssertEqual(app.browser.selectedSlice?.number, 6, "highest probability first")
            let screen = text(app)
            XCTAssertTrue(screen.contains("Slices 1/6 by P(tumor)"))
            XCTAssertTrue(screen.contains("0.60"), "probability column shown when present")
            XCTAssertTrue(screen.contains("confirmed"), "triage column shown when present")
            press(app, .tab, .character("k"))
            XCTAssertEqual(app.browser.selectedSlice?.number, 5, "the viewer steps in volume order, not list order")
            XCTAssertEqual(app.browser.slices.selected, 1, "and the list follows")
            press(app, .character("s"), .character("s"), .character("s"), .character("s"))
            XCTAssertEqual(app.browser.sliceSort, .number, "after Dice, disagreement and triage")
        }
    }

    func testViewerKeysChangeTheLegend() {
        MainActor.assumeIsolated {
            let (app, _) = makeApp()
            press(app, .character("c"))
            XCTAssertEqual(app.viewer.options.channel, .postContrast)
            XCTAssertTrue(text(app).contains("channel post-contrast"))
            press(app, .character("o"))
            XCTAssertTrue(text(app).contains("overlay outline"))
            press(app, .character("o"), .character("o"), .character("+"))
            XCTAssertTrue(text(app).contains("overlay fill 55%"))
            press(app, .character("]"), .character("}"), .character("z"))
            let legend = text(app)
            XCTAssertTrue(legend.contains("window 319"), legend)
            XCTAssertTrue(legend.contains("level 136"))
            XCTAssertTrue(legend.contains("zoom 150%"))
            press(app, .character("0"))
            XCTAssertTrue(text(app).contains("zoom fit"))
        }
    }

    func testHelpListsEveryKeyOfTheTableOnItsPagesAndAnyKeyClosesIt() {
        MainActor.assumeIsolated {
            let (app, _) = makeApp(columns: 80, rows: 24)
            press(app, .character("?"))
            XCTAssertTrue(app.showingHelp)
            var screens = [text(app)]
            for _ in 0..<4 {
                press(app, .pageDown)
                screens.append(text(app))
            }
            XCTAssertTrue(screens[0].contains("page 1/"), "80x24 needs pages:\n\(screens[0])")
            let all = screens.joined(separator: "\n")
            for mode in [KeyMode.global, .browser, .lists, .viewer, .image] {
                XCTAssertTrue(all.contains(mode.title), mode.title)
                for binding in app.keys.bindings(mode) {
                    let keys = binding.keys.map { $0.label(glyphs: .unicode) }.joined(separator: " ")
                    // The key names and the action never run together (was "click / wheelselect / scroll").
                    let pattern = NSRegularExpression.escapedPattern(for: keys) + " {2,}" + NSRegularExpression.escapedPattern(for: binding.label)
                    XCTAssertNotNil(all.range(of: pattern, options: .regularExpression), "\(keys) \(binding.label)")
                }
            }
            XCTAssertFalse(all.contains("Dashboard"), "the browser's help lists the browser's keys")
            press(app, .character("j"))
            XCTAssertFalse(app.showingHelp)
            XCTAssertEqual(app.browser.selectedPatient?.id, "TCGA_CS_4941_19960909", "the closing key does nothing else")
        }
    }

    func testTooSmallTerminalSaysSoAndRecovers() {
        MainActor.assumeIsolated {
            let (app, screen) = makeApp(columns: 80, rows: 24)
            XCTAssertTrue(text(app).contains("Patients 1/3"))
            screen.resize(columns: 50, rows: 12)
            app.handle(screen.nextEvent(timeoutMilliseconds: 0)!)
            XCTAssertTrue(text(app).contains("Terminal too small: 50x12"))
            // Keys do nothing behind the notice (j then r acted on a list nobody saw).
            press(app, .character("j"), .tab, .character("s"), .character("?"), .character("c"))
            app.handle(.mouse(MouseEvent(kind: .click, x: 5, y: 5)))
            XCTAssertEqual(app.browser.selectedPatient?.id, "TCGA_CS_4941_19960909")
            XCTAssertEqual(app.focus, .patients)
            XCTAssertFalse(app.showingHelp)
            XCTAssertEqual(app.viewer.options.channel, RenderOptions().channel)
            screen.resize(columns: 200, rows: 60)
            XCTAssertTrue(text(app).contains("Patients 1/3"))
            press(app, .character("q"))
            XCTAssertFalse(app.isRunning)
        }
    }

    func testMouseClickSelectsAndWheelScrolls() {
        MainActor.assumeIsolated {
            let (app, _) = makeApp()
            // Patient rows start below the title bar, the box border and the header: row 3 is the first.
            app.handle(.mouse(MouseEvent(kind: .click, x: 5, y: 5)))
            XCTAssertEqual(app.browser.selectedPatient?.id, "TCGA_HT_7608_19980727")
            app.handle(.mouse(MouseEvent(kind: .wheelUp, x: 5, y: 5)))
            XCTAssertEqual(app.browser.selectedPatient?.id, "TCGA_DU_5849_19950405")
            app.handle(.mouse(MouseEvent(kind: .wheelDown, x: 100, y: 10)))
            XCTAssertEqual(app.focus, .viewer)
            XCTAssertEqual(app.browser.selectedSlice?.number, 2)
        }
    }

    func testBrokenThemeFileGivesItsLineAndFallsBackToTheDefault() throws {
        try MainActor.assumeIsolated {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-theme-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try "accent = \"#FF0000\"\n".write(to: folder.appendingPathComponent("good.theme"), atomically: true, encoding: .utf8)
            try "# fine\nborder = red\n".write(to: folder.appendingPathComponent("broken.theme"), atomically: true, encoding: .utf8)
            let (app, _) = makeApp(themes: [folder])
            press(app, .character("t"))
            XCTAssertEqual(app.theme, Theme.dark)
            XCTAssertEqual(app.message?.isError, true)
            let status = app.frame().plainText[39]
            XCTAssertTrue(status.contains("broken.theme:2: "), status)
            XCTAssertTrue(status.contains("using the default theme"), status)
            press(app, .character("t"))
            XCTAssertEqual(app.theme.name, "good")
            XCTAssertEqual(app.theme.accent, RGB(255, 0, 0))
            press(app, .character("t"))
            XCTAssertEqual(app.theme, Theme.dark)
        }
    }
}

// Helpers outside the test class, so test closures on the main actor capture no test case.
@MainActor
private func makeApp(columns: Int = 120, rows: Int = 40, predictions: Bool = false, themes: [URL] = [])
    -> (App, MemoryScreen) {
    let screen = MemoryScreen(columns: columns, rows: rows)
    return (App(screen: screen, source: AppTests.source(predictions: predictions), theme: .dark, themeDirectories: themes), screen)
}

@MainActor
private func text(_ app: App) -> String { app.frame().plainText.joined(separator: "\n") }

@MainActor
private func press(_ app: App, _ keys: Key...) { for k in keys { app.handle(.key(k)) } }
