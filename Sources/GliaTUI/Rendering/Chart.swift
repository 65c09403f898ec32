// Line charts in character cells: the dashboard's loss and metric curves.
//
// Geometry: a plot of `columns x rows` cells is a grid of dots whose size depends on the glyphs:
//   braille  2 x 4 dots per cell (U+2800 + dot bits), the finest;
//   block    1 x 2 dots per cell (upper half ▀, lower half ▄, both █), for fonts without braille;
//   ascii    1 x 1 dot per cell ('*'), for ASCII terminals.
// Dot (0, 0) is the top-left; x grows rightwards, y downwards. A data point (x, y) maps linearly
// from the x range onto dot columns 0...dotColumns-1 and from the y range onto dot rows
// dotRows-1...0 (larger y = higher). Consecutive points are joined by a Bresenham line in dot space.
// When two series share a cell the later series' colour wins; the dots of both stay.
//
// Braille dot bits (Unicode's numbering): left column rows 0-3 = 0x01 0x02 0x04 0x40,
// right column rows 0-3 = 0x08 0x10 0x20 0x80.
import Foundation

/// Which characters a chart is drawn with.
public enum ChartGlyphs: Sendable, CaseIterable {
    case braille, block, ascii

    /// Dots per cell horizontally.
    public var dotsPerColumn: Int { self == .braille ? 2 : 1 }
    /// Dots per cell vertically.
    public var dotsPerRow: Int {
        switch self {
        case .braille: 4
        case .block: 2
        case .ascii: 1
        }
    }
}

/// One curve: points in data units, drawn in one colour.
public struct ChartSeries: Sendable, Equatable {
    /// Shown in the legend.
    public var name: String
    /// Line colour.
    public var color: RGB
    /// Points in drawing order (usually increasing x); non-finite points are skipped.
    public var points: [ChartPoint]

    /// A series.
    public init(name: String, color: RGB, points: [ChartPoint]) {
        self.name = name
        self.color = color
        self.points = points
    }
}

/// A point in data units.
public struct ChartPoint: Sendable, Equatable {
    /// Horizontal position (e.g. global step, or epochs as fractional steps).
    public var x: Double
    /// Value.
    public var y: Double

    /// A point.
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// Pure functions from series to cells.
public enum Chart {
    /// The data ranges covering every finite point of `series` (nil when there is none). A flat range
    /// is widened by half a unit (or 5 %) either side so a constant curve sits mid-height.
    public static func bounds(of series: [ChartSeries]) -> (x: ClosedRange<Double>, y: ClosedRange<Double>)? {
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        guard let first = points.first else { return nil }
        var x0 = first.x, x1 = first.x, y0 = first.y, y1 = first.y
        for p in points {
            x0 = min(x0, p.x); x1 = max(x1, p.x)
            y0 = min(y0, p.y); y1 = max(y1, p.y)
        }
        if x1 == x0 { x1 = x0 + 1 }
        if y1 == y0 {
            let pad = y0 == 0 ? 0.5 : abs(y0) * 0.05
            y0 -= pad
            y1 += pad
        }
        return (x0...x1, y0...y1)
    }

    /// The plot area alone: `columns x rows` cells, series drawn over `background`.
    public static func plot(_ series: [ChartSeries], x: ClosedRange<Double>, y: ClosedRange<Double>,
                            columns: Int, rows: Int, glyphs: ChartGlyphs, background: RGB, foreground: RGB) -> CellBuffer {
        var out = CellBuffer(columns: columns, rows: rows, fill: Cell(" ", foreground: foreground, background: background))
        guard columns > 0, rows > 0 else { return out }
        let dotW = columns * glyphs.dotsPerColumn, dotH = rows * glyphs.dotsPerRow
        // Dot bits per cell and the colour of the series that last touched it.
        var bits = [UInt8](repeating: 0, count: columns * rows)
        var colors = [RGB?](repeating: nil, count: columns * rows)
        func dot(_ dx: Int, _ dy: Int, _ color: RGB) {
            guard dx >= 0, dx < dotW, dy >= 0, dy < dotH else { return }
            let cx = dx / glyphs.dotsPerColumn, cy = dy / glyphs.dotsPerRow
            let i = cy * columns + cx
            bits[i] |= bit(glyphs, dx % glyphs.dotsPerColumn, dy % glyphs.dotsPerRow)
            colors[i] = color
        }
        let xSpan = x.upperBound - x.lowerBound, ySpan = y.upperBound - y.lowerBound
        func toDot(_ p: ChartPoint) -> (Int, Int) {
            let fx = xSpan > 0 ? (p.x - x.lowerBound) / xSpan : 0
            let fy = ySpan > 0 ? (p.y - y.lowerBound) / ySpan : 0.5
            let dx = Int((fx * Double(dotW - 1)).rounded())
            let dy = dotH - 1 - Int((fy * Double(dotH - 1)).rounded())
            return (max(-1, min(dotW, dx)), max(-1, min(dotH, dy)))
        }
        for s in series {
            var previous: (Int, Int)?
            for p in s.points where p.x.isFinite && p.y.isFinite {
                let d = toDot(p)
                if let previous { line(from: previous, to: d) { dot($0, $1, s.color) } } else { dot(d.0, d.1, s.color) }
                previous = d
            }
        }
        for i in 0..<(columns * rows) where bits[i] != 0 {
            out.cells[i] = Cell(character(glyphs, bits[i]), foreground: colors[i] ?? foreground, background: background)
        }
        return out
    }

    /// The bit of dot (dx, dy) inside a cell.
    private static func bit(_ glyphs: ChartGlyphs, _ dx: Int, _ dy: Int) -> UInt8 {
        switch glyphs {
        case .braille:
            let left: [UInt8] = [0x01, 0x02, 0x04, 0x40], right: [UInt8] = [0x08, 0x10, 0x20, 0x80]
            return dx == 0 ? left[dy] : right[dy]
        case .block: return dy == 0 ? 1 : 2
        case .ascii: return 1
        }
    }

    /// The glyph for a cell's dot bits (never zero).
    private static func character(_ glyphs: ChartGlyphs, _ bits: UInt8) -> Unicode.Scalar {
        switch glyphs {
        case .braille: return Unicode.Scalar(0x2800 + UInt32(bits))!
        case .block: return bits == 1 ? "\u{2580}" : bits == 2 ? "\u{2584}" : "\u{2588}"
        case .ascii: return "*"
        }
    }

    /// Bresenham's line from `a` to `b` inclusive, calling `plot` for each dot.
    private static func line(from a: (Int, Int), to b: (Int, Int), _ plot: (Int, Int) -> Void) {
        var (x, y) = a
        let dx = abs(b.0 - x), dy = -abs(b.1 - y)
        let sx = x < b.0 ? 1 : -1, sy = y < b.1 ? 1 : -1
        var err = dx + dy
        while true {
            plot(x, y)
            if x == b.0 && y == b.1 { return }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// A framed chart in `rect`: title in the border, y labels (max, min) on the left, the plot,
    /// and a legend line with each series' name in its colour. Empty series show "no data yet".
    public static func draw(_ series: [ChartSeries], title: String, into buffer: inout CellBuffer, rect: Rect,
                            glyphs: ChartGlyphs, style: PaneStyle, format: (Double) -> String = { compact($0) }) {
        let theme = style.theme
        buffer.fill(rect, with: Cell(" ", foreground: theme.foreground, background: theme.background))
        buffer.box(rect, title: title, glyphs: style.glyphs, foreground: theme.border, background: theme.background,
                   titleAttributes: [])
        let inner = rect.inset(1)
        guard inner.width > 8, inner.height > 2 else { return }
        var lx = inner.x + 1
        // Whole entries only, inside the box: a narrow chart closes up the gaps, then drops the last
        // entries, rather than drawing a swatch on its border.
        let named = series.filter { !$0.name.isEmpty }
        let gap = named.reduce(0) { $0 + $1.name.count + 4 } <= inner.width ? 2 : 1
        for s in named where lx + 2 + s.name.count <= inner.x + inner.width {
            let swatch: Unicode.Scalar = style.glyphs == .unicode ? "━" : "-"
            buffer.put(Cell(swatch, foreground: s.color, background: theme.background), x: lx, y: inner.y + inner.height - 1)
            lx += 2
            lx += buffer.text(s.name, x: lx, y: inner.y + inner.height - 1, foreground: theme.muted, background: theme.background) + gap
        }
        let plotRows = inner.height - 1
        guard let (xr, yr) = bounds(of: series) else {
            buffer.text("no data yet", x: inner.x + 2, y: inner.y + plotRows / 2, maxWidth: inner.width - 2,
                        foreground: theme.muted, background: theme.background)
            return
        }
        let top = format(yr.upperBound), bottom = format(yr.lowerBound)
        let labelWidth = max(top.count, bottom.count) + 1
        buffer.text(top, x: inner.x, y: inner.y, foreground: theme.muted, background: theme.background)
        buffer.text(bottom, x: inner.x, y: inner.y + plotRows - 1, foreground: theme.muted, background: theme.background)
        let cells = plot(series, x: xr, y: yr, columns: inner.width - labelWidth, rows: plotRows, glyphs: glyphs,
                         background: theme.background, foreground: theme.foreground)
        buffer.blit(cells, x: inner.x + labelWidth, y: inner.y)
    }

    /// A short number for axis labels: 3 significant digits, no exponent for usual magnitudes.
    public static func compact(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1000 || a < 0.001 { return String(format: "%.1e", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        if a >= 10 { return String(format: "%.1f", v) }
        if a >= 1 { return String(format: "%.2f", v) }
        return String(format: "%.3f", v)
    }
}
