// Colour themes: the UI palette and the overlay colours, read from `Themes/*.theme` files.
//
// File format, one setting per line:
//     # a comment (a line starting with '#', or '#' after the closing quote)
//     background = "#1C1F26"
// Keys are the names in `Theme.keys`; a file may set only some of them (the rest come from the
// dark default). An unknown key, a malformed line or a bad colour is an error naming the line.
import Foundation

/// A theme file that could not be read; names the file and line.
public struct ThemeError: Error, CustomStringConvertible, Equatable {
    /// Path of the theme file.
    public let file: String
    /// 1-based line number, or 0 when the whole file is at fault (e.g. missing).
    public let line: Int
    /// What is wrong.
    public let message: String
    /// `file:line: message`.
    public var description: String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}

/// The colours the workstation and `glia show` draw with.
public struct Theme: Sendable, Equatable {
    /// Name shown in the title bar (the file name without `.theme`).
    public var name: String
    /// Pane background.
    public var background: RGB
    /// Normal text.
    public var foreground: RGB
    /// Secondary text: hints, units, empty values.
    public var muted: RGB
    /// Borders of panes without the keyboard.
    public var border: RGB
    /// Border and title of the pane that has the keyboard.
    public var focus: RGB
    /// Column headers and help headings.
    public var header: RGB
    /// Selected row background.
    public var selectionBackground: RGB
    /// Selected row text.
    public var selectionForeground: RGB
    /// Title bar, status bar and help overlay background.
    public var statusBackground: RGB
    /// Title bar, status bar and help overlay text.
    public var statusForeground: RGB
    /// Key names in hints and the help overlay.
    public var accent: RGB
    /// Tumor flags in lists.
    public var tumor: RGB
    /// Error messages.
    public var error: RGB
    /// Behind the image in the viewer.
    public var viewerBackground: RGB
    /// Ground-truth mask overlay.
    public var overlayTruth: RGB
    /// Predicted mask overlay.
    public var overlayPrediction: RGB

    /// The built-in dark theme; `Themes/dark.theme` holds the same values (a test keeps them equal).
    public static let dark = Theme(
        name: "dark",
        background: RGB(hex: 0x1C1F26), foreground: RGB(hex: 0xD8DEE9), muted: RGB(hex: 0x7A8394),
        border: RGB(hex: 0x3B4252), focus: RGB(hex: 0x88C0D0), header: RGB(hex: 0x81A1C1),
        selectionBackground: RGB(hex: 0x34465E), selectionForeground: RGB(hex: 0xFFFFFF),
        statusBackground: RGB(hex: 0x2E3440), statusForeground: RGB(hex: 0xD8DEE9),
        accent: RGB(hex: 0xEBCB8B), tumor: RGB(hex: 0xE06C75), error: RGB(hex: 0xFF5555),
        viewerBackground: RGB(hex: 0x000000),
        overlayTruth: RGB(hex: 0xFF5F5F), overlayPrediction: RGB(hex: 0x3FD0FF))

    /// Every key a theme file may set, in the order the shipped files list them.
    public static let keys = [
        "background", "foreground", "muted", "border", "focus", "header",
        "selection.background", "selection.foreground", "status.background", "status.foreground",
        "accent", "tumor", "error", "viewer.background", "overlay.truth", "overlay.prediction",
    ]

    /// The colour stored under a theme-file key (nil for an unknown key).
    public func color(forKey key: String) -> RGB? {
        switch key {
        case "background": background
        case "foreground": foreground
        case "muted": muted
        case "border": border
        case "focus": focus
        case "header": header
        case "selection.background": selectionBackground
        case "selection.foreground": selectionForeground
        case "status.background": statusBackground
        case "status.foreground": statusForeground
        case "accent": accent
        case "tumor": tumor
        case "error": error
        case "viewer.background": viewerBackground
        case "overlay.truth": overlayTruth
        case "overlay.prediction": overlayPrediction
        default: nil
        }
    }

    private mutating func set(_ key: String, _ c: RGB) -> Bool {
        switch key {
        case "background": background = c
        case "foreground": foreground = c
        case "muted": muted = c
        case "border": border = c
        case "focus": focus = c
        case "header": header = c
        case "selection.background": selectionBackground = c
        case "selection.foreground": selectionForeground = c
        case "status.background": statusBackground = c
        case "status.foreground": statusForeground = c
        case "accent": accent = c
        case "tumor": tumor = c
        case "error": error = c
        case "viewer.background": viewerBackground = c
        case "overlay.truth": overlayTruth = c
        case "overlay.prediction": overlayPrediction = c
        default: return false
        }
        return true
    }

    /// Parses theme-file text; keys it does not set keep the dark default's colours.
    /// `file` only names the source in errors.
    public static func parse(_ text: String, name: String, file: String) throws -> Theme {
        var theme = Theme.dark
        theme.name = name
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            func fail(_ message: String) -> ThemeError { ThemeError(file: file, line: offset + 1, message: message) }
            guard let eq = line.firstIndex(of: "=") else { throw fail("expected key = \"#RRGGBB\", got '\(line)'") }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard value.hasPrefix("\""), let close = value.dropFirst().firstIndex(of: "\"") else {
                throw fail("value of '\(key)' must be a quoted colour like \"#1C1F26\"")
            }
            let rest = value[value.index(after: close)...].trimmingCharacters(in: .whitespaces)
            guard rest.isEmpty || rest.hasPrefix("#") else { throw fail("unexpected text after the value: '\(rest)'") }
            value = String(value[value.index(after: value.startIndex)..<close])
            guard value.count == 7, value.hasPrefix("#"), let hex = UInt32(value.dropFirst(), radix: 16) else {
                throw fail("'\(value)' is not a colour of the form #RRGGBB")
            }
            guard theme.set(key, RGB(hex: hex)) else {
                throw fail("unknown key '\(key)' (known: \(keys.joined(separator: ", ")))")
            }
        }
        return theme
    }

    /// Reads `<directory>/<name>.theme` from the first directory that has it, or the file itself
    /// when `name` is a path ending in `.theme`.
    public static func load(named name: String, searchDirectories: [URL]) throws -> Theme {
        let candidates: [URL] = name.hasSuffix(".theme")
            ? [URL(fileURLWithPath: name)]
            : searchDirectories.map { $0.appendingPathComponent("\(name).theme") }
        guard let file = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            let looked = candidates.map(\.path).joined(separator: ", ")
            throw ThemeError(file: "\(name).theme", line: 0, message: "theme not found (looked in \(looked))")
        }
        guard let data = FileManager.default.contents(atPath: file.path), let text = String(data: data, encoding: .utf8)
        else { throw ThemeError(file: file.path, line: 0, message: "cannot read the file as UTF-8 text") }
        let themeName = file.deletingPathExtension().lastPathComponent
        return try parse(text, name: themeName, file: file.path)
    }

    /// Theme names (file names without `.theme`) found in `directories`, sorted, duplicates removed.
    public static func available(in directories: [URL]) -> [String] {
        var names = Set<String>()
        for directory in directories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for file in files where file.hasSuffix(".theme") { names.insert(String(file.dropLast(6))) }
        }
        return names.sorted()
    }

    /// Where themes are looked for: `$GLIA_THEMES`, `~/.config/glia/themes`, and the `Themes`
    /// folder of the source checkout the executable was built in (`.build/<config>/glia`).
    public static func searchDirectories(environment: [String: String], executable: URL) -> [URL] {
        var result: [URL] = []
        if let custom = environment["GLIA_THEMES"], !custom.isEmpty { result.append(URL(fileURLWithPath: custom)) }
        if let home = environment["HOME"], !home.isEmpty {
            result.append(URL(fileURLWithPath: home).appendingPathComponent(".config/glia/themes"))
        }
        var directory = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            result.append(directory.appendingPathComponent("Themes"))
            directory = directory.deletingLastPathComponent()
        }
        return result
    }
}
