import Foundation
import GliaTUI
import XCTest

final class ThemeTests: XCTestCase {
    /// The repository's Themes folder, found from this file's path.
    static let themesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Themes")

    func testShippedDarkThemeEqualsTheBuiltInDefault() throws {
        let dark = try Theme.load(named: "dark", searchDirectories: [Self.themesFolder])
        XCTAssertEqual(dark, Theme.dark)
    }

    func testShippedThemesParseAndSetEveryKey() throws {
        XCTAssertEqual(Theme.available(in: [Self.themesFolder]), ["dark", "high-contrast", "light"])
        for name in ["light", "high-contrast"] {
            let url = Self.themesFolder.appendingPathComponent("\(name).theme")
            let text = try String(contentsOf: url, encoding: .utf8)
            let theme = try Theme.parse(text, name: name, file: url.path)
            for key in Theme.keys {
                XCTAssertTrue(text.contains("\n\(key) = "), "\(name).theme sets \(key)")
                XCTAssertNotNil(theme.color(forKey: key))
            }
            XCTAssertNotEqual(theme.overlayTruth, theme.overlayPrediction)
        }
        let contrast = try Theme.load(named: "high-contrast", searchDirectories: [Self.themesFolder])
        // Okabe-Ito orange and sky blue: distinguishable under the common colour-vision deficiencies.
        XCTAssertEqual(contrast.overlayTruth, RGB(hex: 0xE69F00))
        XCTAssertEqual(contrast.overlayPrediction, RGB(hex: 0x56B4E9))
        XCTAssertGreaterThan(abs(contrast.foreground.luma - contrast.background.luma), 200)
    }

    func testParsingKeepsDefaultsForUnsetKeysAndAllowsComments() throws {
        let text = """
            # comment line
              accent = "#0a0B0c"   # trailing comment

            overlay.truth="#FFFFFF"
            """
        let theme = try Theme.parse(text, name: "mine", file: "mine.theme")
        XCTAssertEqual(theme.accent, RGB(10, 11, 12))
        XCTAssertEqual(theme.overlayTruth, RGB(255, 255, 255))
        XCTAssertEqual(theme.background, Theme.dark.background)
        XCTAssertEqual(theme.name, "mine")
    }

    func testErrorsNameTheLine() {
        let cases: [(String, Int, String)] = [
            ("accent = \"#123456\"\nfocus = \"#12345\"\n", 2, "not a colour"),
            ("\n\n\nfocsu = \"#123456\"", 4, "unknown key 'focsu'"),
            ("accent = #123456", 1, "quoted colour"),
            ("accent \"#123456\"", 1, "expected key"),
            ("accent = \"#123456\" extra", 1, "unexpected text"),
            ("accent = \"#GGHHII\"", 1, "not a colour"),
        ]
        for (text, line, fragment) in cases {
            XCTAssertThrowsError(try Theme.parse(text, name: "t", file: "t.theme")) { error in
                guard let error = error as? ThemeError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.line, line, text)
                XCTAssertTrue(error.description.hasPrefix("t.theme:\(line): "), error.description)
                XCTAssertTrue(error.message.contains(fragment), error.message)
            }
        }
    }

    func testMissingThemeIsAnErrorNamingIt() {
        XCTAssertThrowsError(try Theme.load(named: "nosuch", searchDirectories: [Self.themesFolder])) { error in
            XCTAssertTrue("\(error)".contains("nosuch.theme"), "\(error)")
        }
    }

    func testHexRoundTrip() {
        XCTAssertEqual(RGB(hex: 0x0A0B0C).description, "#0A0B0C")
        XCTAssertEqual(RGB(hex: 0xE69F00).hex, 0xE69F00)
    }
}
