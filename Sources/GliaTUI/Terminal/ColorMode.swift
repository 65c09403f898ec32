// How many colours the output can show, decided once from the environment and the terminal.

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
}
