// Key files: the user's rebindings, read at start from `$GLIA_KEYS`, else
// `$XDG_CONFIG_HOME/glia/keys.conf` (`~/.config/glia/keys.conf`).
//
// Format, one binding per line:
//     # a comment
//     triage.accept = y Enter      # mode.command = key [key ...]
// Modes and commands are those of the help overlay (`KeyMode`, `Command` raw values). Keys are a
// single character or one of the names in `Key.names` (Enter, Esc, Tab, S-Tab, Space, Up, PgDn,
// C-x, ...). A bad line is an error naming the file and the line, and the whole file is ignored,
// so a typo never leaves a half-remapped keyboard.
import Foundation

/// A key file that could not be applied; names the file and line.
public struct KeyFileError: Error, CustomStringConvertible, Equatable {
    /// Path of the key file.
    public let file: String
    /// 1-based line number.
    public let line: Int
    /// What is wrong.
    public let message: String
    /// `file:line: message`.
    public var description: String { "\(file):\(line): \(message)" }
}

extension KeyTable {
    /// Where the key file is looked for (nil when neither GLIA_KEYS nor a home folder is known).
    public static func keyFileURL(environment: [String: String]) -> URL? {
        if let path = environment["GLIA_KEYS"], !path.isEmpty { return URL(fileURLWithPath: path) }
        if let config = environment["XDG_CONFIG_HOME"], !config.isEmpty {
            return URL(fileURLWithPath: config).appendingPathComponent("glia/keys.conf")
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return URL(fileURLWithPath: home).appendingPathComponent(".config/glia/keys.conf")
    }

    /// The standard table with the rebindings of `url` applied; a missing file means no rebindings.
    public static func load(from url: URL?) throws(KeyFileError) -> KeyTable {
        guard let url, FileManager.default.fileExists(atPath: url.path) else { return .standard }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw KeyFileError(file: url.path, line: 1, message: "cannot be read as UTF-8 text")
        }
        return try parse(text, file: url.path)
    }

    /// The standard table with the rebindings in `text` (the contents of `file`).
    public static func parse(_ text: String, file: String) throws(KeyFileError) -> KeyTable {
        var table = KeyTable.standard
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            func fail(_ message: String) -> KeyFileError { KeyFileError(file: file, line: number + 1, message: message) }
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first
                .map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard !line.isEmpty else { continue }
            let sides = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard sides.count == 2, !sides[1].isEmpty else { throw fail("expected 'mode.command = key ...', got '\(line)'") }
            let name = sides[0].split(separator: ".", maxSplits: 1).map(String.init)
            guard name.count == 2, let mode = KeyMode(rawValue: name[0]) else {
                throw fail("unknown mode in '\(sides[0])' (modes: \(KeyMode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            var keys: [Key] = []
            for word in sides[1].split(separator: " ", omittingEmptySubsequences: true) {
                guard let key = Key(fileName: String(word)) else {
                    throw fail("unknown key '\(word)' (a character, or one of \(Key.names.keys.sorted().joined(separator: " ")))")
                }
                keys.append(key)
            }
            guard let command = Command(rawValue: name[1]) else {
                throw fail(KeyTableError.noSuchCommand(mode: mode, command: name[1]).description)
            }
            do {
                try table.rebind(command, in: mode, to: keys)
            } catch {
                throw fail(error.description)
            }
        }
        return table
    }
}

extension Key {
    /// Named keys of key files (a single character stands for itself).
    public static let names: [String: Key] = [
        "Enter": .enter, "Esc": .escape, "Tab": .tab, "S-Tab": .backTab, "Space": .character(" "),
        "Backspace": .backspace, "Up": .up, "Down": .down, "Left": .left, "Right": .right,
        "PgUp": .pageUp, "PgDn": .pageDown, "Home": .home, "End": .end, "Hash": .character("#"),
    ]

    /// The key a key file names: a single character, a name in `names`, or C-x for Ctrl plus a letter.
    public init?(fileName name: String) {
        if let named = Self.names[name] {
            self = named
        } else if name.unicodeScalars.count == 1, let c = name.unicodeScalars.first, c.value > 32, c != "=" {
            self = .character(c)
        } else if name.hasPrefix("C-"), name.unicodeScalars.count == 3, let c = name.unicodeScalars.last,
                  ("a"..."z").contains(c) {
            self = .control(c)
        } else {
            return nil
        }
    }

    /// The name a key file uses for this key.
    public var fileName: String {
        switch self {
        case .character(let c): Self.names.first { $0.value == self }?.key ?? String(c)
        case .control(let c): "C-\(c)"
        default: Self.names.first { $0.value == self }?.key ?? "?"
        }
    }

    /// The key as help and hint bars show it (arrows as glyphs outside ASCII mode).
    public func label(glyphs: GlyphMode) -> String {
        let unicode = glyphs == .unicode
        switch self {
        case .up: return unicode ? "↑" : "Up"
        case .down: return unicode ? "↓" : "Dn"
        case .left: return unicode ? "←" : "Left"
        case .right: return unicode ? "→" : "Right"
        case .control(let c): return "Ctrl-" + String(c).uppercased()
        case .character("#"): return "#"
        default: return fileName
        }
    }
}
