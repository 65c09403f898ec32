// Slice -> character cells: the text-mode renderer behind the viewer pane and `glia show`.
//
// A slice is first rendered to RGB pixels (`SliceRaster`: window/level, zoom, overlays), on a grid
// of as many pixels per cell as the text mode packs (sextants 2x3, quadrants 2x2, half blocks and
// ASCII 1x2); `CellEncoder` then turns each cell's pixels into a glyph and two colours. Terminal cells
// are about twice as tall as wide, which sets the pixels' aspect ratio.
import GliaData

/// Which part of the MRI slice to show.
public enum ViewerChannel: Int, CaseIterable, Sendable {
    case preContrast = 0, flair = 1, postContrast = 2, composite = 3

    /// Name shown in the legend.
    public var label: String {
        switch self {
        case .preContrast: "pre-contrast"
        case .flair: "FLAIR"
        case .postContrast: "post-contrast"
        case .composite: "RGB composite"
        }
    }
}

/// How masks are drawn: filled ground truth with outlined prediction, both outlined, or none.
public enum OverlayStyle: Int, CaseIterable, Sendable {
    case fill, outline, off

    /// Name shown in the legend.
    public var label: String {
        switch self {
        case .fill: "fill"
        case .outline: "outline"
        case .off: "off"
        }
    }
}

/// Everything the renderer needs besides the pixels.
public struct RenderOptions: Sendable, Equatable {
    /// Channel shown (or the RGB composite).
    public var channel: ViewerChannel = .flair
    /// Intensity span mapped to black...white (1...255).
    public var window: Double = 255
    /// Intensity mapped to mid-gray.
    public var level: Double = 127.5
    /// 1 = whole image; 2 = half of each side; at most 16.
    public var zoom: Double = 1
    /// Pan point (centre of the view) as a fraction of the image width.
    public var centerX: Double = 0.5
    /// Pan point as a fraction of the image height.
    public var centerY: Double = 0.5
    /// How masks are drawn.
    public var overlay: OverlayStyle = .fill
    /// Opacity of the filled ground-truth overlay, 0...1.
    public var opacity: Float = 0.45
    /// Ground-truth overlay colour.
    public var truthColor: RGB = Theme.dark.overlayTruth
    /// Prediction overlay colour.
    public var predictionColor: RGB = Theme.dark.overlayPrediction
    /// Colour around the image.
    public var background: RGB = Theme.dark.viewerBackground
    /// The readout cursor, an image pixel, drawn as a small cross; nil when hidden.
    public var cursor: ImagePoint?
    /// Colour of the cursor's cross.
    public var cursorColor: RGB = Theme.dark.accent
    /// How the image is drawn; a pixel mode renders as half blocks here (its cells are what shows
    /// when the image cannot be sent).
    public var graphics: GraphicsMode = .blocks

    /// Default options.
    public init() {}
}

/// A pixel of the slice image (column x, row y).
public struct ImagePoint: Sendable, Equatable {
    /// Column.
    public var x: Int
    /// Row.
    public var y: Int

    /// A point.
    public init(x: Int, y: Int) {
        self.x = x
        self.y = y
    }
}

/// Pure function from a slice (and masks) to cells.
public enum SliceRenderer {
    /// The upper-half block used for image cells.
    public static let halfBlock: Unicode.Scalar = "\u{2580}"

    /// Renders `image` into `columns x rows` cells in `options.graphics` (half blocks for a pixel
    /// mode). Masks must match the image size or are ignored.
    public static func render(image: SliceImage, truth: SliceMask?, prediction: SliceMask?,
                              options: RenderOptions, columns: Int, rows: Int) -> CellBuffer {
        let mode = options.graphics.isPixel ? GraphicsMode.blocks : options.graphics
        let (cx, cy) = mode.cellPixels
        // A cell is about twice as tall as wide: a cell pixel is (2 / cy) / (1 / cx) as tall as wide.
        let raster = SliceRaster.render(image: image, truth: truth, prediction: prediction, options: options,
                                        width: max(0, columns) * cx, height: max(0, rows) * cy,
                                        pixelAspect: 2 * Double(cx) / Double(cy))
        return CellEncoder.encode(raster, mode: mode, options: options)
    }
}
