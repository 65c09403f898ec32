// Which graphics mode to use, as timg and chafa decide it: the environment first (it costs nothing
// and survives SSH: TERM, TERM_PROGRAM, LC_TERMINAL, KITTY_WINDOW_ID), then, only when it says
// nothing definite, a query answered by the terminal within a short cap (`TerminalQuery`).
//
// Inside tmux the terminal that draws is tmux's client, so the query would reach tmux, not it:
// tmux is asked instead for the client's TERM (`#{client_termname}`) and whether it forwards
// escapes (`allow-passthrough`, off by default since tmux 3.3). With passthrough off, no pixel
// protocol reaches the terminal; the viewer then uses a text mode and the status bar says why and
// how to turn it on, rather than drawing nothing.
//
// Text modes: sextants where the terminal is known to draw block elements itself (kitty, Ghostty,
// WezTerm, foot, iTerm2, Windows Terminal: no font needs them), half blocks elsewhere, since many
// fonts still lack the Unicode 13 sextants.
import Foundation

/// tmux's `allow-passthrough` setting, when output goes through tmux.
public enum Passthrough: Sendable, Equatable {
    case on, off
}

/// Decides the graphics support of the terminal.
public enum GraphicsDetector {
    /// Pixel protocols the environment names, best first; nil when it names no known terminal.
    public static func fromEnvironment(_ env: [String: String]) -> [GraphicsMode]? {
        let term = (env["TERM"] ?? "").lowercased(), program = (env["TERM_PROGRAM"] ?? "").lowercased()
        if env["KITTY_WINDOW_ID"] != nil || term == "xterm-kitty" || term == "xterm-ghostty" || program == "ghostty" {
            return [.kitty]
        }
        // WezTerm's kitty support lacks Unicode placeholders; its iTerm2 images work everywhere.
        if program == "wezterm" { return [.iterm, .sixel] }
        if program == "iterm.app" || env["LC_TERMINAL"] == "iTerm2" { return [.iterm, .sixel] }
        if term.hasPrefix("foot") || term.hasPrefix("mlterm") || env["WT_SESSION"] != nil { return [.sixel] }
        return nil
    }

    /// Pixel protocols the query's replies show, best first.
    public static func fromReplies(_ replies: TerminalReplies) -> [GraphicsMode] {
        let version = (replies.version ?? "").lowercased()
        var modes: [GraphicsMode] = []
        if replies.kitty && !version.contains("wezterm") { modes.append(.kitty) }
        if version.contains("wezterm") || version.contains("iterm2") { modes.append(.iterm) }
        if replies.sixel { modes.append(.sixel) }
        return modes
    }

    /// The best text mode for the terminal (see the file comment).
    public static func textMode(environment env: [String: String], replies: TerminalReplies?) -> GraphicsMode {
        let drawsBlocks = ["kitty", "ghostty", "wezterm", "foot", "iterm2"]
        let version = (replies?.version ?? "").lowercased()
        if fromEnvironment(env) != nil || drawsBlocks.contains(where: version.contains) { return .sextants }
        return .blocks
    }

    /// The support for `request`, given what the environment, the query (nil: not asked) and tmux
    /// (nil: not inside tmux) said.
    public static func decide(request: GraphicsRequest, environment: [String: String], replies: TerminalReplies?,
                              passthrough: Passthrough?, cellSize: CellSize?, glyphs: GlyphMode) -> GraphicsSupport {
        let size = cellSize ?? replies?.cellSize ?? .guess
        let inTmux = passthrough != nil
        guard glyphs == .unicode else {
            let note = request == .auto || request == .mode(.ascii) ? nil : "graphics: ASCII only (not a UTF-8 locale, or --ascii)"
            return GraphicsSupport(pixelModes: [], mode: .ascii, cellSize: size, tmux: inTmux, note: note)
        }
        let found = fromEnvironment(environment) ?? replies.map(fromReplies) ?? []
        let text = textMode(environment: environment, replies: replies)
        switch request {
        case .mode(let mode) where !mode.isPixel:
            return GraphicsSupport(pixelModes: passthrough == .off ? [] : found, mode: mode, cellSize: size, tmux: inTmux)
        case .mode(let mode):
            if passthrough == .off {
                return GraphicsSupport(pixelModes: [], mode: text, cellSize: size, tmux: true, note: passthroughNote(mode))
            }
            // Asked for by name: trusted, even where detection found nothing.
            return GraphicsSupport(pixelModes: [mode] + found.filter { $0 != mode }, mode: mode, cellSize: size, tmux: inTmux)
        case .auto:
            if passthrough == .off, let best = found.first {
                return GraphicsSupport(pixelModes: [], mode: text, cellSize: size, tmux: true, note: passthroughNote(best))
            }
            return GraphicsSupport(pixelModes: found, mode: found.first ?? text, cellSize: size, tmux: inTmux)
        }
    }

    /// Short enough for an 80-column status bar; the legend names the text mode used instead.
    private static func passthroughNote(_ mode: GraphicsMode) -> String {
        "allow-passthrough is off in tmux: \(mode.label) needs tmux set -g allow-passthrough on"
    }

    /// Detects the terminal this process runs on: tmux's settings inside tmux, the environment,
    /// and the query when `request` is auto and nothing else decided.
    public static func detect(request: GraphicsRequest, environment: [String: String], glyphs: GlyphMode) -> GraphicsSupport {
        var env = environment
        var passthrough: Passthrough?
        if environment["TMUX"] != nil {
            let setting = tmux(["show", "-gv", "allow-passthrough"])
            passthrough = setting == "on" || setting == "all" ? .on : .off
            // The client's TERM names the terminal outside (xterm-kitty, foot, ...).
            if let client = tmux(["display", "-p", "#{client_termname}"]), !client.isEmpty { env["TERM"] = client }
        }
        let pixels = windowCellSize()
        var replies: TerminalReplies?
        let wantsQuery = request == .auto ? fromEnvironment(env) == nil : request.isPixel && pixels == nil
        if passthrough == nil, glyphs == .unicode, wantsQuery { replies = TTYChannel.ask() }
        return decide(request: request, environment: env, replies: replies, passthrough: passthrough, cellSize: pixels, glyphs: glyphs)
    }

    /// Cell size from the window size the kernel knows (terminals and sshd fill in the pixels; 0 when unknown).
    static func windowCellSize() -> CellSize? {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0, size.ws_xpixel > 0, size.ws_ypixel > 0 else {
            return nil
        }
        return CellSize(width: Int(size.ws_xpixel) / Int(size.ws_col), height: Int(size.ws_ypixel) / Int(size.ws_row))
    }

    /// Output of a tmux command (trimmed), nil when it fails.
    private static func tmux(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tmux"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension GraphicsRequest {
    /// Whether a pixel protocol is asked for by name.
    var isPixel: Bool {
        if case .mode(let mode) = self { return mode.isPixel }
        return false
    }
}
