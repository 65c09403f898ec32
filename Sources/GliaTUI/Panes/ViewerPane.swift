// The slice viewer: the selected slice through `SliceRenderer`, with a two-line legend.
//
// The pane keeps the view settings (channel, window/level, zoom/pan, overlay) across slices, so
// stepping through a volume compares like with like. The last render is cached by (slice, options,
// size): redraws for other reasons (a list moved, the status bar changed) cost no resampling.
//
// Side by side (ViewerLayout) each panel is rendered and cached on its own, as the single view is.
//
// In a pixel mode the image area is left blank and the pixels go out as `placements`, which the
// screen sends after the cells. The raster has about the slice's own resolution (the pane's pixels
// divided by a whole factor, never more than the pane shows): kitty and iTerm2 scale it to the cells
// themselves, and sixel, which has no scaling, repeats its pixels up to the pane's while encoding.
import GliaData

/// View settings and drawing of the slice viewer.
public struct ViewerPane: Sendable {
    /// Renderer settings; colours are refreshed from the theme at each draw.
    public var options = RenderOptions()
    /// One image or several side by side.
    public var layout = ViewerLayout.single
    /// The images to send with a pixel protocol after the last draw (one per panel), empty when none.
    public private(set) var placements: [ImagePlacement] = []
    /// The last render of each panel.
    private var caches: [PanelCache] = []
    /// A mouse drag changing window/level, from the press that began it.
    private var drag: WindowDrag?
    /// Where the panels' images went in the last draw, and the slice's size, for the cursor and clicks.
    private var lastImageRects: [Rect] = []
    private var lastImageSize = (width: 256, height: 256)
    private var lastCell = (width: 1.0, height: 2.0)

    private struct CacheKey: Equatable, Sendable {
        var slice: String
        var options: RenderOptions
        var columns: Int
        var rows: Int
        var cellSize: CellSize
        var layout: ViewerLayout
        var panel: Int
    }

    private struct PanelCache: Sendable {
        var key: CacheKey
        var cells: CellBuffer?
        var raster: ImagePlacement?
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
        case .layout: layout = layout.next
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
        placements = []
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
        lastImageRects = []
        lastCell = style.graphics.isPixel ? (Double(style.cellSize.width), Double(style.cellSize.height)) : (1, 2)
        if let slice {
            lastImageSize = (slice.image.width, slice.image.height)
            // A slice of another size than the last one keeps the cursor on the image.
            if let c = options.cursor {
                options.cursor = ImagePoint(x: min(c.x, slice.image.width - 1), y: min(c.y, slice.image.height - 1))
            }
        }
        if let slice {
            let panels = layout.panels(in: imageRect)
            if panels.isEmpty {
                buffer.text("too narrow for \(layout.label)", x: inner.x + 1, y: inner.y, maxWidth: inner.width - 2,
                            foreground: theme.muted, background: theme.background)
            }
            lastImageRects = panels.map(\.image)
            for (index, panel) in panels.enumerated() {
                buffer.text(layout.title(index, width: panel.title.width), x: panel.title.x, y: panel.title.y, maxWidth: panel.title.width,
                            foreground: theme.foreground, background: theme.background, attributes: .bold)
                let panelSlice = layout.slice(slice, panel: index), panelOptions = layout.options(options, panel: index)
                let key = CacheKey(slice: sliceID, options: panelOptions, columns: panel.image.width, rows: panel.image.height,
                                   cellSize: style.graphics.isPixel ? style.cellSize : .guess, layout: layout, panel: index)
                if style.graphics.isPixel {
                    buffer.fill(panel.image, with: Cell(" ", foreground: options.background, background: options.background))
                    placements.append(pixels(panelSlice, key: key, rect: panel.image))
                } else {
                    buffer.blit(render(panelSlice, key: key), x: panel.image.x, y: panel.image.y)
                }
            }
            if caches.count > panels.count { caches.removeLast(caches.count - panels.count) }
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

    /// Sets the cursor on the image pixel under cell (x, y) of the screen (of whichever panel the
    /// cell is in: every panel shows the same pixels); false when the cell is not on an image.
    @discardableResult
    public mutating func click(x: Int, y: Int) -> Bool {
        guard let r = lastImageRects.first(where: { $0.contains(x: x, y: y) }),
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

    /// Starts a window/level drag at cell (x, y) when it is on an image (the press also set the
    /// cursor, as a click does); false otherwise.
    @discardableResult
    public mutating func press(x: Int, y: Int) -> Bool {
        let cursor = options.cursor
        guard click(x: x, y: y) else {
            drag = nil
            return false
        }
        drag = WindowDrag(x: x, y: y, window: options.window, level: options.level, cursorBefore: cursor)
        return true
    }

    /// Moves a drag begun by `press` to cell (x, y): window and level follow the distance moved. A
    /// drag is no click, so the cursor goes back to what it was before the press. False when no
    /// drag is under way.
    @discardableResult
    public mutating func dragged(x: Int, y: Int) -> Bool {
        guard let drag else { return false }
        (options.window, options.level) = drag.windowLevel(x: x, y: y)
        options.cursor = drag.cursorBefore
        return true
    }

    /// Ends a drag (a press elsewhere): motion no longer changes window/level.
    public mutating func endDrag() { drag = nil }

    /// The panel cache for `key`, reset when the key changed.
    private mutating func cache(for key: CacheKey) -> PanelCache {
        while caches.count <= key.panel { caches.append(PanelCache(key: key)) }
        if caches[key.panel].key != key { caches[key.panel] = PanelCache(key: key) }
        return caches[key.panel]
    }

    private mutating func render(_ slice: LoadedSlice, key: CacheKey) -> CellBuffer {
        if let cells = cache(for: key).cells { return cells }
        let cells = SliceRenderer.render(image: slice.image, truth: slice.truth, prediction: slice.prediction,
                                         options: key.options, columns: key.columns, rows: key.rows)
        caches[key.panel].cells = cells
        return cells
    }

    /// The slice as pixels for `rect` (see the file comment for the resolution).
    private mutating func pixels(_ slice: LoadedSlice, key: CacheKey, rect: Rect) -> ImagePlacement {
        if var raster = cache(for: key).raster {
            raster.rect = rect
            return raster
        }
        let raster = Self.pixelRaster(slice, options: key.options, columns: rect.width, rows: rect.height, cellSize: key.cellSize)
        let made = ImagePlacement(rect: rect, raster: raster, mode: key.options.graphics, key: String(describing: key), cellSize: key.cellSize)
        caches[key.panel].raster = made
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
        if layout != .single { value(compact ? "" : "layout ", layout.label, optional: true) }
        value(compact ? "" : "graphics ", options.graphics.label, optional: true)
        if let preset = WindowPreset.all.first(where: { $0.matches(options) }) { value("preset ", preset.name, optional: true) }
    }
}
