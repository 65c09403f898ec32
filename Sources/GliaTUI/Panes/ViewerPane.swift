// The slice viewer: the selected slice through `SliceRenderer`, with a two-line legend.
//
// The pane keeps the view settings (channel, window/level, zoom/pan, overlay) across slices, so
// stepping through a volume compares like with like. The last render is cached by (slice, options,
// size): redraws for other reasons (a list moved, the status bar changed) cost no resampling.
//
// In a pixel mode the image area is left blank and the pixels go out as `placement`, which the
// screen sends after the cells. The raster has about the slice's own resolution (the pane's pixels
// divided by a whole factor, never more than the pane shows): kitty and iTerm2 scale it to the cells
// themselves, and sixel, which has no scaling, repeats its pixels up to the pane's while encoding.
import GliaData

/// View settings and drawing of the slice viewer.
public struct ViewerPane: Sendable {
    /// Renderer settings; colours are refreshed from the theme at each draw.
    public var options = RenderOptions()
    /// The image to send with a pixel protocol after the last draw, nil when none.
    public private(set) var placement: ImagePlacement?
    private var cacheKey: CacheKey?
    private var cached: CellBuffer?
    private var cachedRaster: ImagePlacement?
    /// Where the image went in the last draw, and its size, for the cursor and clicks.
    private var lastImageRect = Rect(x: 0, y: 0, width: 0, height: 0)
    private var lastImageSize = (width: 256, height: 256)
    private var lastCell = (width: 1.0, height: 2.0)

    private struct CacheKey: Equatable, Sendable {
        var slice: String
        var options: RenderOptions
        var columns: Int
        var rows: Int
        var cellSize: CellSize
    }

    /// A viewer with default settings.
    public init() {}

    /// Applies an image command; returns false for commands of other panes.
    @discardableResult
    public mutating func perform(_ command: Command) -> Bool {
        switch command {
        case .channel: options.channel = ViewerChannel(rawValue: (options.channel.rawValue + 1) % ViewerChannel.allCases.count)!
        case .overlay: options.overlay = OverlayStyle(rawValue: (options.overlay.rawValue + 1) % OverlayStyle.allCases.count)!
        case .opacityUp: options.opacity = min(1, options.opacity + 0.1)
        case .opacityDown: options.opacity = max(0.1, options.opacity - 0.1)
        case .narrowWindow: options.window = max(8, options.window / 1.25)
        case .widenWindow: options.window = min(510, options.window * 1.25)
        case .lowerLevel: options.level = max(0, options.level - 8)
        case .raiseLevel: options.level = min(255, options.level + 8)
        case .zoomIn: options.zoom = min(16, options.zoom * 1.5)
        case .zoomOut: options.zoom = max(1, options.zoom / 1.5)
        case .panLeft: options.centerX = max(0, options.centerX - 0.1 / options.zoom)
        case .panRight: options.centerX = min(1, options.centerX + 0.1 / options.zoom)
        case .panUp: options.centerY = max(0, options.centerY - 0.1 / options.zoom)
        case .panDown: options.centerY = min(1, options.centerY + 0.1 / options.zoom)
        case .windowPreset:
            let current = WindowPreset.all.firstIndex { $0.matches(options) }
            let next = WindowPreset.all[current.map { ($0 + 1) % WindowPreset.all.count } ?? 0]
            options.window = next.window
            options.level = next.level
        case .readout:
            options.cursor = options.cursor == nil ? ImagePoint(x: lastImageSize.width / 2, y: lastImageSize.height / 2) : nil
        case .cursorLeft, .cursorRight, .cursorUp, .cursorDown:
            guard let cursor = options.cursor else { return false }
            let dx = command == .cursorLeft ? -1 : command == .cursorRight ? 1 : 0
            let dy = command == .cursorUp ? -1 : command == .cursorDown ? 1 : 0
            options.cursor = ImagePoint(x: max(0, min(lastImageSize.width - 1, cursor.x + dx)),
                                        y: max(0, min(lastImageSize.height - 1, cursor.y + dy)))
        case .resetView:
            options.window = 255
            options.level = 127.5
            options.zoom = 1
            options.centerX = 0.5
            options.centerY = 0.5
        default: return false
        }
        return true
    }

    /// Draws the pane in `rect`: box, image (or `message` when there is no image) and legend.
    /// `sliceID` names the loaded slice for the render cache; `caption` goes in the title.
    public mutating func draw(into buffer: inout CellBuffer, rect: Rect, focused: Bool, style: PaneStyle,
                              slice: LoadedSlice?, sliceID: String, caption: String, message: String?) {
        let theme = style.theme
        placement = nil
        buffer.fill(rect, with: Cell(" ", foreground: theme.foreground, background: theme.background))
        buffer.box(rect, title: caption, glyphs: style.glyphs, foreground: style.border(focused: focused),
                   background: theme.background, titleAttributes: focused ? .bold : [])
        let inner = rect.inset(1)
        guard inner.width > 0, inner.height > 0 else { return }
        let readout = options.cursor != nil && slice != nil && inner.height >= 7
        let legendRows = inner.height >= 6 ? (readout ? 3 : 2) : 0
        let imageRect = Rect(x: inner.x, y: inner.y, width: inner.width, height: inner.height - legendRows)
        options.truthColor = theme.overlayTruth
        options.predictionColor = theme.overlayPrediction
        options.background = theme.viewerBackground
        options.graphics = style.graphics
        options.cursorColor = theme.accent
        lastImageRect = imageRect
        lastCell = style.graphics.isPixel ? (Double(style.cellSize.width), Double(style.cellSize.height)) : (1, 2)
        if let slice {
            lastImageSize = (slice.image.width, slice.image.height)
            // A slice of another size than the last one keeps the cursor on the image.
            if let c = options.cursor {
                options.cursor = ImagePoint(x: min(c.x, slice.image.width - 1), y: min(c.y, slice.image.height - 1))
            }
        }
        if let slice, style.graphics.isPixel {
            buffer.fill(imageRect, with: Cell(" ", foreground: options.background, background: options.background))
            placement = pixels(slice, id: sliceID, rect: imageRect, cellSize: style.cellSize)
        } else if let slice {
            buffer.blit(render(slice, id: sliceID, columns: imageRect.width, rows: imageRect.height), x: imageRect.x, y: imageRect.y)
        } else {
            buffer.text(message ?? "no slice selected", x: inner.x + 1, y: inner.y + imageRect.height / 2,
                        maxWidth: inner.width - 2, foreground: message == nil ? theme.muted : theme.error, background: theme.background)
        }
        guard legendRows > 0 else { return }
        drawLegend(into: &buffer, x: inner.x, y: inner.y + inner.height - legendRows, width: inner.width, style: style,
                   hasPrediction: slice?.prediction != nil)
        if readout, let slice, let cursor = options.cursor {
            buffer.text(Self.readout(slice, at: cursor), x: inner.x + 1, y: inner.y + inner.height - 1, maxWidth: inner.width - 2,
                        foreground: theme.accent, background: theme.background, attributes: .bold)
        }
    }

    /// Sets the cursor on the image pixel under cell (x, y) of the screen; false when the cell is
    /// not on the image.
    @discardableResult
    public mutating func click(x: Int, y: Int) -> Bool {
        let r = lastImageRect
        guard r.contains(x: x, y: y),
              let point = SliceRaster.imagePoint(imageWidth: lastImageSize.width, imageHeight: lastImageSize.height, options: options,
                                                 areaWidth: Double(r.width) * lastCell.width, areaHeight: Double(r.height) * lastCell.height,
                                                 x: (Double(x - r.x) + 0.5) * lastCell.width, y: (Double(y - r.y) + 0.5) * lastCell.height)
        else { return false }
        options.cursor = point
        return true
    }

    /// The readout line: the cursor's pixel, each channel's stored intensity and the mask values.
    public static func readout(_ slice: LoadedSlice, at point: ImagePoint) -> String {
        let image = slice.image
        guard point.x < image.width, point.y < image.height else { return "cursor outside the image" }
        let base = (point.y * image.width + point.x) * image.channels
        var parts = ["cursor \(point.x),\(point.y)"]
        for (index, name) in ["pre", "FLAIR", "post"].enumerated() where index < image.channels {
            parts.append("\(name) \(image.pixels[base + index])")
        }
        func mask(_ name: String, _ m: SliceMask?) {
            guard let m, m.width == image.width, m.height == image.height else { return }
            parts.append("\(name) \(m.pixels[point.y * m.width + point.x])")
        }
        mask("truth", slice.truth)
        mask("pred", slice.prediction)
        return parts.joined(separator: "  ")
    }

    private mutating func render(_ slice: LoadedSlice, id: String, columns: Int, rows: Int) -> CellBuffer {
        let key = CacheKey(slice: id, options: options, columns: columns, rows: rows, cellSize: .guess)
        if key == cacheKey, let cached { return cached }
        let cells = SliceRenderer.render(image: slice.image, truth: slice.truth, prediction: slice.prediction,
                                         options: options, columns: columns, rows: rows)
        cacheKey = key
        cached = cells
        cachedRaster = nil
        return cells
    }

    /// The slice as pixels for `rect` (see the file comment for the resolution).
    private mutating func pixels(_ slice: LoadedSlice, id: String, rect: Rect, cellSize: CellSize) -> ImagePlacement {
        let key = CacheKey(slice: id, options: options, columns: rect.width, rows: rect.height, cellSize: cellSize)
        if key == cacheKey, var cachedRaster {
            cachedRaster.rect = rect
            return cachedRaster
        }
        let raster = Self.pixelRaster(slice, options: options, columns: rect.width, rows: rect.height, cellSize: cellSize)
        let made = ImagePlacement(rect: rect, raster: raster, mode: options.graphics, key: String(describing: key), cellSize: cellSize)
        cacheKey = key
        cached = nil
        cachedRaster = made
        return made
    }

    /// The raster a pixel protocol gets for `columns x rows` cells (see the file comment).
    public static func pixelRaster(_ slice: LoadedSlice, options: RenderOptions, columns: Int, rows: Int, cellSize: CellSize) -> Raster {
        let width = columns * cellSize.width, height = rows * cellSize.height
        let zoom = max(1, min(16, options.zoom))
        let shown = min(Double(width) / (Double(slice.image.width) / zoom), Double(height) / (Double(slice.image.height) / zoom))
        let factor = max(1, Int(shown))
        let rasterW = max(1, (width + factor - 1) / factor), rasterH = max(1, (height + factor - 1) / factor)
        // The terminal stretches the raster over the cells: its pixels are as tall as that stretch makes them.
        let aspect = (Double(height) / Double(rasterH)) / (Double(width) / Double(rasterW))
        return SliceRaster.render(image: slice.image, truth: slice.truth, prediction: slice.prediction, options: options,
                                  width: rasterW, height: rasterH, pixelAspect: aspect)
    }

    /// Two legend lines; narrow viewers get the short form ("truth", "W 255") so nothing is cut.
    private func drawLegend(into buffer: inout CellBuffer, x: Int, y: Int, width: Int, style: PaneStyle, hasPrediction: Bool) {
        let theme = style.theme
        let compact = width < 60
        let swatch: Unicode.Scalar = style.glyphs == .unicode ? "■" : "#"
        var cx = x + 1, row = y
        func put(_ text: String, _ color: RGB, bold: Bool = false) {
            cx += buffer.text(text, x: cx, y: row, maxWidth: x + width - cx, foreground: color, background: theme.background,
                              attributes: bold ? .bold : [])
        }
        func key(_ color: RGB, _ label: String, active: Bool) {
            buffer.put(Cell(swatch, foreground: color, background: theme.background), x: cx, y: row)
            cx += 2
            put(label + "  ", active ? theme.foreground : theme.muted)
        }
        let marks = style.glyphs == .ascii && options.overlay != .off
        key(theme.overlayTruth, (compact ? "truth" : "ground truth") + (marks ? " o" : ""), active: true)
        key(theme.overlayPrediction, (compact ? "pred." : hasPrediction ? "prediction" : "prediction (none yet)") + (marks ? " x" : ""),
            active: hasPrediction)
        put(compact ? "" : "overlay ", theme.muted)
        put(options.overlay == .fill ? "fill \(Int((options.opacity * 100).rounded()))%" : options.overlay.label, theme.foreground, bold: true)

        cx = x + 1
        row = y + 1
        // Optional values come last and only when they fit whole.
        func value(_ label: String, _ text: String, optional: Bool = false) {
            if optional, label.count + text.count > x + width - cx { return }
            put(label, theme.muted)
            put(text + "  ", theme.foreground, bold: true)
        }
        value(compact ? "" : "channel ", options.channel.label)
        value(compact ? "W " : "window ", "\(Int(options.window.rounded()))")
        value(compact ? "L " : "level ", "\(Int(options.level.rounded()))")
        value(compact ? "" : "zoom ", options.zoom == 1 ? "fit" : "\(Int((options.zoom * 100).rounded()))%")
        value(compact ? "" : "graphics ", options.graphics.label, optional: true)
        if let preset = WindowPreset.all.first(where: { $0.matches(options) }) { value("preset ", preset.name, optional: true) }
    }
}
