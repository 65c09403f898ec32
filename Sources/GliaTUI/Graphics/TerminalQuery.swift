// Asking the terminal what it draws, as timg and chafa do, without ever holding up the start.
//
// Queries, in one write: the kitty graphics query (`a=q` on a 1x1 image: a kitty-protocol terminal
// answers `ESC _G i=31;OK ESC \`), XTVERSION (`CSI > q`: `ESC P > | name version ESC \`), the cell
// size (`CSI 16 t`: `CSI 6 ; height ; width t`) and last DA1 (`CSI c`: `CSI ? 62 ; 4 ; ... c`, where
// 4 means sixel). Every terminal answers DA1 and answers in order, so the DA1 reply ends the wait;
// a terminal (or link) that says nothing ends it at the cap. Replies that come after the cap would
// reach the keyboard input, so the cap is generous for a terminal and short for a person: 150 ms.
import Glibc

/// What the terminal said.
public struct TerminalReplies: Sendable, Equatable {
    /// The kitty graphics query was answered OK.
    public var kitty = false
    /// DA1 lists 4 (sixel graphics).
    public var sixel = false
    /// XTVERSION's text ("kitty(0.35.2)", "WezTerm 20240203", "foot(1.16.2)", "XTerm(390)").
    public var version: String?
    /// Pixel size of a cell, from `CSI 16 t`.
    public var cellSize: CellSize?
    /// Whether the DA1 reply came (all replies before it are in).
    public var complete = false

    /// No replies.
    public init() {}

    /// Reads every reply found in `bytes`; anything else is skipped.
    public init(parsing bytes: [UInt8]) {
        var i = 0
        while i < bytes.count {
            guard bytes[i] == 0x1B, i + 1 < bytes.count else {
                i += 1
                continue
            }
            let kind = bytes[i + 1]
            if kind == UInt8(ascii: "_") || kind == UInt8(ascii: "P") {
                // APC or DCS, up to the string terminator ESC \.
                var end = i + 2
                while end + 1 < bytes.count, !(bytes[end] == 0x1B && bytes[end + 1] == 0x5C) { end += 1 }
                guard end + 1 < bytes.count else { return }
                let body = String(decoding: bytes[(i + 2)..<end], as: UTF8.self)
                if kind == UInt8(ascii: "_"), body.hasPrefix("G"), body.contains("i=31"), body.hasSuffix(";OK") { kitty = true }
                if kind == UInt8(ascii: "P"), body.hasPrefix(">|") { version = String(body.dropFirst(2)) }
                i = end + 2
            } else if kind == UInt8(ascii: "[") {
                // CSI: parameters up to a final byte in @...~.
                var end = i + 2
                while end < bytes.count, !(0x40...0x7E).contains(bytes[end]) { end += 1 }
                guard end < bytes.count else { return }
                let parameters = String(decoding: bytes[(i + 2)..<end], as: UTF8.self)
                if bytes[end] == UInt8(ascii: "c"), parameters.hasPrefix("?") {
                    complete = true
                    sixel = parameters.dropFirst().split(separator: ";").contains("4")
                } else if bytes[end] == UInt8(ascii: "t") {
                    let values = parameters.split(separator: ";").compactMap { Int($0) }
                    if values.count == 3, values[0] == 6, values[1] > 0, values[2] > 0 {
                        cellSize = CellSize(width: values[2], height: values[1])
                    }
                }
                i = end + 1
            } else {
                i += 2
            }
        }
    }
}

/// Where queries go and replies come from: the terminal, or a script in tests.
public protocol TerminalChannel {
    /// Sends bytes to the terminal.
    mutating func write(_ bytes: [UInt8])
    /// Bytes that arrive within `milliseconds` (empty when none do).
    mutating func read(milliseconds: Int) -> [UInt8]
}

/// The query and its bounded wait.
public enum TerminalQuery {
    /// Longest wait for the replies.
    public static let capMilliseconds = 150

    /// The query bytes, DA1 last.
    public static let query: [UInt8] = Array("\u{1B}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\u{1B}\\\u{1B}[>q\u{1B}[16t\u{1B}[c".utf8)

    /// Sends the query on `channel` and reads until the DA1 reply or `cap` milliseconds.
    public static func ask<C: TerminalChannel>(_ channel: inout C, cap: Int = capMilliseconds) -> TerminalReplies {
        channel.write(query)
        var received: [UInt8] = []
        let start = monotonicMilliseconds()
        while true {
            let left = cap - (monotonicMilliseconds() - start)
            guard left > 0 else { break }
            let bytes = channel.read(milliseconds: left)
            received += bytes
            if TerminalReplies(parsing: received).complete { break }
        }
        return TerminalReplies(parsing: received)
    }

    static func monotonicMilliseconds() -> Int {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return t.tv_sec * 1000 + t.tv_nsec / 1_000_000
    }
}

/// The process's terminal (stdin/stdout), in raw mode for the duration of the query.
public struct TTYChannel: TerminalChannel {
    private let input: Int32, output: Int32

    /// A channel on the given descriptors.
    public init(input: Int32 = 0, output: Int32 = 1) {
        self.input = input
        self.output = output
    }

    /// Asks the terminal with echo and line buffering off, restoring its settings afterwards.
    public static func ask(cap: Int = TerminalQuery.capMilliseconds) -> TerminalReplies {
        var saved = termios()
        guard isatty(0) == 1, isatty(1) == 1, tcgetattr(0, &saved) == 0 else { return TerminalReplies() }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        tcsetattr(0, TCSANOW, &raw)
        defer { tcsetattr(0, TCSANOW, &saved) }
        var channel = TTYChannel()
        return TerminalQuery.ask(&channel, cap: cap)
    }

    public mutating func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBufferPointer { Glibc.write(output, $0.baseAddress, $0.count) }
    }

    public mutating func read(milliseconds: Int) -> [UInt8] {
        var descriptor = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, Int32(milliseconds)) > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBufferPointer { Glibc.read(input, $0.baseAddress, $0.count) }
        return n > 0 ? Array(buffer[0..<n]) : []
    }
}
