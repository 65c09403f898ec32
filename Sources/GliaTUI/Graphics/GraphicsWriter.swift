// What a screen sends for images after writing the frame's cells, and what it must repaint.
//
// The writer remembers the placements on the terminal (key and rectangle). A placement already
// shown is not sent again; a new one is sent under a new id; one that went away is deleted (kitty)
// and its rectangle handed back for the screen to repaint from its
// cells, since sixel and iTerm2 pixels, and placeholder text written behind curses' back, stay until
// something writes over them. `forget()` is for a screen repainted from scratch (resize, Ctrl-L).
//
// Every image is written with the cursor saved and restored around it (ESC 7 / ESC 8), moved to the
// rectangle's corner first: curses keeps its own idea of where the cursor is. Inside tmux each
// escape is wrapped for passthrough (`ESC Ptmux; ... ESC \`, every ESC doubled), which tmux forwards
// to the real terminal when `allow-passthrough` is on; kitty then uses Unicode placeholders, whose
// cells go to tmux as text.

/// Image state of one screen.
public struct GraphicsWriter: Sendable {
    /// Whether escapes must be wrapped for tmux (and kitty placed with placeholders).
    public let tmux: Bool
    private var shown: [Shown] = []
    private var nextID = 1

    private struct Shown: Sendable {
        var key: String
        var rect: Rect
        var mode: GraphicsMode
        var id: Int
    }

    /// A writer; `tmux` when output goes through tmux.
    public init(tmux: Bool) {
        self.tmux = tmux
    }

    /// What to do for the frame's `images`: rectangles to repaint from the cells (before the cells
    /// are written) and the bytes to send after them (empty when nothing changed).
    public mutating func update(_ images: [ImagePlacement]) -> (repaint: [Rect], bytes: [UInt8]) {
        var repaint: [Rect] = [], bytes: [UInt8] = []
        var kept: [Shown] = []
        for old in shown {
            if images.contains(where: { $0.key == old.key && $0.rect == old.rect && $0.mode == old.mode }) {
                kept.append(old)
                continue
            }
            if old.mode == .kitty { bytes += wrap(KittyEncoder.delete(id: old.id)) }
            repaint.append(old.rect)
        }
        for image in images where !kept.contains(where: { $0.key == image.key && $0.rect == image.rect && $0.mode == image.mode }) {
            let id = nextID
            nextID = nextID % 255 + 1  // placeholder ids are 256-colour indices
            // Plain attributes for what is written (placeholder cells); ESC 8 brings curses' back.
            bytes += Array("\u{1B}7\u{1B}[\(image.rect.y + 1);\(image.rect.x + 1)H\u{1B}[0m".utf8)
            bytes += Self.image(image, id: id, tmux: tmux)
            bytes += Array("\u{1B}8".utf8)
            kept.append(Shown(key: image.key, rect: image.rect, mode: image.mode, id: id))
        }
        shown = kept
        return (repaint, bytes)
    }

    /// Forgets every image (the screen is repainted from scratch); kitty images are deleted.
    public mutating func forget() -> [UInt8] {
        let bytes = shown.filter { $0.mode == .kitty }.flatMap { wrap(KittyEncoder.delete(id: $0.id)) }
        shown = []
        return bytes
    }

    /// The escapes that draw `image` as image `id` from the cursor (placeholder rows: each from
    /// the column the cursor started in, one row down from the last).
    public static func image(_ image: ImagePlacement, id: Int, tmux: Bool) -> [UInt8] {
        let rect = image.rect
        func wrap(_ escape: [UInt8]) -> [UInt8] { tmux ? tmuxPassthrough(escape) : escape }
        switch image.mode {
        case .kitty:
            let columns = min(rect.width, KittyEncoder.maximumSpan), rows = min(rect.height, KittyEncoder.maximumSpan)
            var bytes = KittyEncoder.transmit(image.raster, id: id, columns: columns, rows: rows, placeholders: tmux).flatMap(wrap)
            if tmux {
                for (row, text) in KittyEncoder.placeholderRows(id: id, columns: columns, rows: rows).enumerated() {
                    if row > 0 { bytes += Array("\u{1B}[\(columns)D\u{1B}[B".utf8) }
                    bytes += Array(text.utf8)
                }
            }
            return bytes
        case .sixel:
            let size = image.cellSize
            return wrap(SixelEncoder.encode(image.raster, width: rect.width * size.width, height: rect.height * size.height))
        case .iterm: return wrap(ITermEncoder.encode(image.raster, columns: rect.width, rows: rect.height))
        case .sextants, .quadrants, .blocks, .ascii: return []
        }
    }

    private func wrap(_ escape: [UInt8]) -> [UInt8] { tmux ? Self.tmuxPassthrough(escape) : escape }

    /// `escape` wrapped for tmux passthrough: `ESC Ptmux;`, the escape with every ESC doubled, `ESC \`.
    public static func tmuxPassthrough(_ escape: [UInt8]) -> [UInt8] {
        var out: [UInt8] = Array("\u{1B}Ptmux;".utf8)
        out.reserveCapacity(escape.count + 16)
        for byte in escape {
            if byte == 0x1B { out.append(0x1B) }
            out.append(byte)
        }
        return out + [0x1B, 0x5C]
    }
}
