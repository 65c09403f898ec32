// Side-by-side layouts of the slice viewer: one image, the three channels, or truth beside prediction.
//
// Every panel is the single view of one variant of the settings (the same window/level, zoom, pan,
// overlay style and cursor), rendered on its own into its own rectangle: a channel panel is the view
// of that channel, a truth or prediction panel the view with only that mask. So what a panel shows
// is exactly what the single view shows of it, only smaller, and every graphics mode works as is
// (pixel protocols get one image per panel, which the graphics writer tracks and re-sends apiece).
//
// Panels sit in a row, equal widths, one blank column between them, each with its label in the
// first row of its rectangle; the image takes the rest.

/// Which images the viewer shows.
public enum ViewerLayout: Int, CaseIterable, Sendable {
    /// The one image of the chosen channel (and both masks).
    case single
    /// Pre-contrast, FLAIR and post-contrast side by side.
    case channels
    /// The chosen channel with the ground truth on the left, with the prediction on the right.
    case truthPrediction

    /// A panel's rectangles on the screen.
    public struct Panel: Equatable, Sendable {
        /// The label's row (empty in the single layout).
        public var title: Rect
        /// Where the image goes.
        public var image: Rect
    }

    /// The layout after this one (single, channels, truth | prediction, single ...).
    public var next: ViewerLayout { ViewerLayout(rawValue: (rawValue + 1) % Self.allCases.count)! }

    /// How many images the layout shows.
    public var panelCount: Int {
        switch self {
        case .single: 1
        case .channels: 3
        case .truthPrediction: 2
        }
    }

    /// The label of panel `index`; short when the panel is narrow.
    public func title(_ index: Int, width: Int) -> String {
        switch self {
        case .single: ""
        case .channels: width >= 13 ? ViewerChannel(rawValue: index)!.label : ["pre", "FLAIR", "post"][index]
        case .truthPrediction: index == 0 ? (width >= 12 ? "ground truth" : "truth") : (width >= 10 ? "prediction" : "pred.")
        }
    }

    /// The view settings of panel `index`.
    public func options(_ base: RenderOptions, panel index: Int) -> RenderOptions {
        var options = base
        if self == .channels { options.channel = ViewerChannel(rawValue: index)! }
        return options
    }

    /// The slice as panel `index` draws it: a truth | prediction panel keeps only its own mask.
    public func slice(_ slice: LoadedSlice, panel index: Int) -> LoadedSlice {
        guard self == .truthPrediction else { return slice }
        return LoadedSlice(image: slice.image, truth: index == 0 ? slice.truth : nil, prediction: index == 1 ? slice.prediction : nil)
    }

    /// The panels of this layout in `rect` (the viewer's image area). The single layout's one panel is
    /// the whole area; side by side, each panel needs two rows and two columns, else there are none.
    public func panels(in rect: Rect) -> [Panel] {
        let count = panelCount
        guard count > 1 else { return [Panel(title: Rect(x: rect.x, y: rect.y, width: 0, height: 0), image: rect)] }
        let width = (rect.width - (count - 1)) / count
        guard width >= 2, rect.height >= 2 else { return [] }
        return (0..<count).map { i in
            let x = rect.x + i * (width + 1)
            return Panel(title: Rect(x: x, y: rect.y, width: width, height: 1),
                         image: Rect(x: x, y: rect.y + 1, width: width, height: rect.height - 1))
        }
    }

    /// Named in the legend.
    public var label: String {
        switch self {
        case .single: "single"
        case .channels: "3 channels"
        case .truthPrediction: "truth | pred."
        }
    }
}
