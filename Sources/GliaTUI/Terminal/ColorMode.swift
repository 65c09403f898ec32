// How many colours the output can show, decided once from the environment and the terminal.
//
// `COLORTERM=truecolor` (or `24bit`) is how terminals and SSH say "24-bit colour works", while TERM
// usually stays `xterm-256color`, whose terminfo entry knows only 256 colours. curses can only send
// what the entry describes, so the screen then opens the direct-colour entry of the same family
// (`xterm-direct`, `tmux-direct`, ...: same keys and capabilities, colours as 24-bit values).

/// The colour depth a screen or an ANSI stream uses.
public enum ColorMode: Sendable, Equatable {
    /// 24-bit `38;2;r;g;b` colours.
    case direct
    /// Palette entries 16...255 (see `Palette256`).
    case palette256
    /// No colour at all (plain text).
    case none

    /// Direct colour when `COLORTERM` is `truecolor` or `24bit`, else the 256-colour palette; the
    /// convention terminals and SSH forward, and what the user can override by unsetting it.
    public static func fromEnvironment(_ environment: [String: String]) -> ColorMode {
        let value = (environment["COLORTERM"] ?? "").lowercased()
        return value == "truecolor" || value == "24bit" ? .direct : .palette256
    }

    /// The direct-colour terminfo entry to open instead of `term` when 24-bit colour is wanted;
    /// nil when `term` is already one or has no direct sibling.
    public static func directTerminfo(for term: String) -> String? {
        let name = term.lowercased()
        guard !name.isEmpty, !name.contains("direct") else { return nil }
        if name == "xterm-kitty" { return "kitty-direct" }
        // The family is the name before its first dash: xterm-256color -> xterm, tmux-256color -> tmux.
        let family = name.split(separator: "-").first.map(String.init) ?? name
        let known = ["xterm", "tmux", "alacritty", "iterm2", "kitty", "konsole", "mintty", "mlterm", "st", "vte", "vscode"]
        return known.contains(family) ? family + "-direct" : nil
    }
}
