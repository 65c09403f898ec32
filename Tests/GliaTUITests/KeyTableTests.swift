// The key table: every binding is reachable, a key file remaps keys for dispatch, help and hints
// alike, and a bad key file names its file and line.
import Foundation
import GliaData
import GliaTUI
import XCTest

final class KeyTableTests: XCTestCase {
    func testEveryBindingOfEveryModeIsReachableThroughItsOwnKeys() {
        for mode in KeyMode.allCases {
            XCTAssertFalse(KeyTable.standard.bindings(mode).isEmpty, mode.rawValue)
            for binding in KeyTable.standard.bindings(mode) {
                for key in binding.keys {
                    XCTAssertEqual(KeyTable.standard.command(for: key, in: [mode]), binding.command,
                                   "\(mode.rawValue): \(key.fileName) is shadowed by another binding of the mode")
                }
            }
        }
    }

    func testKeyFileRebindsACommandAndBadLinesNameTheFileAndLine() throws {
        let table = try KeyTable.parse("# mine\n\ntriage.accept = y Enter   # yes\nimage.zoom-in = i\n", file: "/k/keys.conf")
        XCTAssertEqual(table.command(for: .character("y"), in: [.triage]), .accept)
        XCTAssertEqual(table.command(for: .enter, in: [.triage]), .accept)
        XCTAssertNil(table.command(for: .character("a"), in: [.triage]), "the old key is free")
        XCTAssertEqual(table.command(for: .character("i"), in: [.image]), .zoomIn)

        let cases: [(String, String)] = [
            ("triage.acept = y", "/k/keys.conf:1: triage has no command 'acept'"),
            ("\ntriage.accept = r", "/k/keys.conf:2: 'r' is already triage.reject"),
            ("viewr.zoom-in = i", "/k/keys.conf:1: unknown mode in 'viewr.zoom-in'"),
            ("image.zoom-in = Ctrl+i", "/k/keys.conf:1: unknown key 'Ctrl+i'"),
            ("image.zoom-in", "/k/keys.conf:1: expected 'mode.command = key ...'"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try KeyTable.parse(text, file: "/k/keys.conf")) { error in
                let line = "\(error)"
                XCTAssertTrue(line.hasPrefix(expected), line)
                XCTAssertFalse(line.contains("\n"), "one line: \(line)")
            }
        }
    }

    func testKeyFileIsFoundFromTheEnvironmentAndAMissingFileChangesNothing() throws {
        XCTAssertEqual(KeyTable.keyFileURL(environment: ["GLIA_KEYS": "/a/k.conf", "HOME": "/h"])?.path, "/a/k.conf")
        XCTAssertEqual(KeyTable.keyFileURL(environment: ["XDG_CONFIG_HOME": "/c", "HOME": "/h"])?.path, "/c/glia/keys.conf")
        XCTAssertEqual(KeyTable.keyFileURL(environment: ["HOME": "/h"])?.path, "/h/.config/glia/keys.conf")
        XCTAssertEqual(try KeyTable.load(from: URL(fileURLWithPath: "/nonexistent/keys.conf")), .standard)
    }

    func testARemappedKeyDrivesTheAppAndShowsInHelpAndTheHintBar() throws {
        let table = try KeyTable.parse("image.zoom-in = i\nbrowser.filter = F\nglobal.help = h\n", file: "k")
        MainActor.assumeIsolated {
            let screen = MemoryScreen(columns: 140, rows: 40)
            let app = App(screen: screen, source: AppTests.source(), theme: .dark, themeDirectories: [], keys: table)
            app.handle(.key(.character("i")))
            XCTAssertEqual(app.viewer.options.zoom, 1.5)
            app.handle(.key(.character("z")))
            XCTAssertEqual(app.viewer.options.zoom, 1.5, "z is no longer bound")
            let status = app.frame().plainText[39]
            XCTAssertTrue(status.contains("F filter"), status)
            XCTAssertTrue(status.contains("h help"), status)
            app.handle(.key(.character("h")))
            let help = app.frame().plainText.joined(separator: "\n")
            XCTAssertNotNil(help.range(of: #"i +zoom in"#, options: .regularExpression), help)
        }
    }

    func testHintsMergeSharedLabelsAndKeepHelpAndQuitWhenNarrow() {
        let triage = HintBar.hints(.standard, modes: [.triage, .image, .global], glyphs: .unicode)
        XCTAssertEqual(triage.first, Hint(keys: "a/r/f", label: "decide"))
        XCTAssertTrue(triage.contains(Hint(keys: "1-4", label: "rate")))
        MainActor.assumeIsolated {
            let app = App(screen: MemoryScreen(columns: 64, rows: 18), source: AppTests.source(), theme: .dark, themeDirectories: [])
            let status = app.frame().plainText[17]
            XCTAssertTrue(status.hasSuffix("? help  q quit  "), status)
        }
    }

    func testHighContrastHintsAndHelpStayReadable() throws {
        let theme = try Theme.load(named: "high-contrast", searchDirectories: [ThemeTests.themesFolder])
        XCTAssertLessThan(theme.accent.contrast(with: theme.statusBackground), 3, "the theme's accent is yellow on white")
        MainActor.assumeIsolated {
            let app = App(screen: MemoryScreen(columns: 120, rows: 40), source: AppTests.source(), theme: theme, themeDirectories: [])
            let frame = app.frame()
            let row = frame.plainText[39]
            let x = row.distance(from: row.startIndex, to: row.range(of: "? help")!.lowerBound)
            XCTAssertGreaterThanOrEqual(frame[x, 39].foreground.contrast(with: frame[x, 39].background), 3)
            XCTAssertGreaterThanOrEqual(frame[1, 0].foreground.contrast(with: frame[1, 0].background), 3, "the title's 'Glia'")
        }
    }
}
