import Foundation
import GliaTUI
import XCTest

/// A terminal that answers from a script: each read hands out the next reply after its delay, or
/// waits the whole timeout and returns nothing once the script is done.
private struct ScriptedTerminal: TerminalChannel {
    var replies: [(delayMilliseconds: Int, bytes: String)]
    var written: [UInt8] = []

    mutating func write(_ bytes: [UInt8]) { written += bytes }

    mutating func read(milliseconds: Int) -> [UInt8] {
        guard let next = replies.first, next.delayMilliseconds <= milliseconds else {
            usleep(UInt32(milliseconds) * 1000)
            if !replies.isEmpty { replies[0].delayMilliseconds -= milliseconds }
            return []
        }
        usleep(UInt32(next.delayMilliseconds) * 1000)
        replies.removeFirst()
        return Array(next.bytes.utf8)
    }
}

// Detection: the environment first, then scripted replies to the query, including none at all.
final class GraphicsDetectionTests: XCTestCase {
    private func ask(_ replies: [(Int, String)]) -> (TerminalReplies, Double, [UInt8]) {
        var terminal = ScriptedTerminal(replies: replies.map { (delayMilliseconds: $0.0, bytes: $0.1) })
        let start = Date()
        let answer = TerminalQuery.ask(&terminal)
        return (answer, Date().timeIntervalSince(start) * 1000, terminal.written)
    }

    func testTheQueryAsksKittyVersionCellSizeAndEndsWithDA1() {
        let (_, _, written) = ask([(1, "\u{1B}[?62;22c")])
        let text = String(decoding: written, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("\u{1B}_Gi=31,"))
        XCTAssertTrue(text.contains("a=q"))
        XCTAssertTrue(text.contains("\u{1B}[>q") && text.contains("\u{1B}[16t"))
        XCTAssertTrue(text.hasSuffix("\u{1B}[c"), "DA1 last: its reply ends the wait")
    }

    func testKittyAnswersInPiecesAndTheWaitEndsAtDA1() {
        let (replies, elapsed, _) = ask([(5, "\u{1B}_Gi=31;OK\u{1B}\\\u{1B}P>|kitty(0.35.2)"), (5, "\u{1B}\\\u{1B}[6;20;10t\u{1B}[?62;"),
                                         (5, "c")])
        XCTAssertTrue(replies.kitty)
        XCTAssertTrue(replies.complete)
        XCTAssertEqual(replies.version, "kitty(0.35.2)")
        XCTAssertEqual(replies.cellSize, CellSize(width: 10, height: 20))
        XCTAssertLessThan(elapsed, 100, "no waiting for the cap once DA1 came")
        let support = GraphicsDetector.decide(request: .auto, environment: [:], replies: replies, passthrough: nil, cellSize: nil, glyphs: .unicode)
        XCTAssertEqual(support.mode, .kitty)
        XCTAssertEqual(support.cellSize, CellSize(width: 10, height: 20))
    }

    func testXtermWithSixelInDA1() {
        let (replies, _, _) = ask([(2, "\u{1B}P>|XTerm(390)\u{1B}\\\u{1B}[?63;1;2;4;6;9;15;22c")])
        XCTAssertTrue(replies.sixel)
        XCTAssertFalse(replies.kitty)
        let support = GraphicsDetector.decide(request: .auto, environment: ["TERM": "xterm-256color"], replies: replies, passthrough: nil,
                                              cellSize: nil, glyphs: .unicode)
        XCTAssertEqual(support.pixelModes, [.sixel])
        XCTAssertEqual(support.mode, .sixel)
        XCTAssertEqual(support.cellSize, .guess, "no CSI 16 t reply: the usual guess")
    }

    func testNoReplyEndsAtTheCapWithATextMode() {
        let (replies, elapsed, _) = ask([])
        XCTAssertFalse(replies.complete)
        XCTAssertGreaterThanOrEqual(elapsed, Double(TerminalQuery.capMilliseconds) - 5)
        XCTAssertLessThan(elapsed, Double(TerminalQuery.capMilliseconds) + 150, "the start is never held up past the cap")
        let support = GraphicsDetector.decide(request: .auto, environment: ["TERM": "xterm-256color"], replies: replies, passthrough: nil,
                                              cellSize: nil, glyphs: .unicode)
        XCTAssertEqual(support.pixelModes, [])
        XCTAssertEqual(support.mode, .blocks)
    }

    func testAReplySlowerThanTheCapIsNotWaitedFor() {
        let (replies, elapsed, _) = ask([(600, "\u{1B}_Gi=31;OK\u{1B}\\\u{1B}[?62;4c")])
        XCTAssertFalse(replies.kitty)
        XCTAssertLessThan(elapsed, 400)
    }

    func testTheEnvironmentDecidesWithoutAQuery() {
        func modes(_ env: [String: String]) -> [GraphicsMode]? { GraphicsDetector.fromEnvironment(env) }
        XCTAssertEqual(modes(["KITTY_WINDOW_ID": "1", "TERM": "xterm-256color"]), [.kitty])
        XCTAssertEqual(modes(["TERM": "xterm-ghostty"]), [.kitty])
        XCTAssertEqual(modes(["LC_TERMINAL": "iTerm2"]), [.iterm, .sixel], "LC_TERMINAL survives SSH")
        XCTAssertEqual(modes(["TERM_PROGRAM": "WezTerm"]), [.iterm, .sixel])
        XCTAssertEqual(modes(["TERM": "foot"]), [.sixel])
        XCTAssertNil(modes(["TERM": "xterm-256color"]))
        let kitty = GraphicsDetector.decide(request: .auto, environment: ["TERM": "xterm-kitty"], replies: nil, passthrough: nil,
                                            cellSize: CellSize(width: 9, height: 18), glyphs: .unicode)
        XCTAssertEqual(kitty.mode, .kitty)
        XCTAssertEqual(kitty.cycle(glyphs: .unicode), [.kitty, .sextants, .quadrants, .blocks, .ascii])
        XCTAssertEqual(kitty.cellSize, CellSize(width: 9, height: 18))
    }

    func testTmuxWithoutPassthroughFallsBackToTextAndSaysWhy() throws {
        let auto = GraphicsDetector.decide(request: .auto, environment: ["KITTY_WINDOW_ID": "3"], replies: nil, passthrough: .off,
                                           cellSize: nil, glyphs: .unicode)
        XCTAssertEqual(auto.pixelModes, [])
        XCTAssertEqual(auto.mode, .sextants, "kitty draws sextants itself")
        let note = try XCTUnwrap(auto.note)
        XCTAssertTrue(note.contains("allow-passthrough is off") && note.contains("set -g allow-passthrough on"), note)
        let forced = GraphicsDetector.decide(request: .mode(.sixel), environment: ["TERM": "tmux-256color"], replies: nil, passthrough: .off,
                                             cellSize: nil, glyphs: .unicode)
        XCTAssertEqual(forced.mode, .blocks)
        XCTAssertNotNil(forced.note)
        let on = GraphicsDetector.decide(request: .mode(.kitty), environment: ["TERM": "tmux-256color"], replies: nil, passthrough: .on,
                                         cellSize: nil, glyphs: .unicode)
        XCTAssertEqual(on.mode, .kitty)
        XCTAssertTrue(on.tmux)
        XCTAssertNil(on.note)
    }

    func testAsciiScreensOnlyGetASCII() {
        let support = GraphicsDetector.decide(request: .mode(.kitty), environment: ["TERM": "xterm-kitty"], replies: nil, passthrough: nil,
                                              cellSize: nil, glyphs: .ascii)
        XCTAssertEqual(support.mode, .ascii)
        XCTAssertEqual(support.cycle(glyphs: .ascii), [.ascii])
    }
}
