// What the viewer lays over a slice from a prediction, in the browser and in triage alike. Where the
// classifier flagged the slice it is the segmenter's mask; where it did not, the pipeline's answer
// is an empty mask ("no tumor"), not a missing one. A reader may still want to see what the
// segmenter drew there (the gate may be wrong), so that mask can be shown instead, in a dimmed
// prediction colour and named in the caption, never to be mistaken for the pipeline's answer.
import GliaData

/// The predicted mask drawn over a slice.
public struct PredictionOverlay: Sendable, Equatable {
    /// The mask.
    public var mask: SliceMask
    /// True when it is the segmenter's mask on a slice the classifier did not flag (drawn dimmed).
    public var segmenterOnly: Bool

    /// An overlay of `mask`.
    public init(mask: SliceMask, segmenterOnly: Bool) {
        self.mask = mask
        self.segmenterOnly = segmenterOnly
    }

    /// The overlay of `prediction` on a `width` x `height` slice; with `showUnflagged`, the
    /// segmenter's own mask where the classifier said no tumor (when it drew any). Nil while
    /// nothing can be drawn (not predicted yet, or the mask was dropped and comes again).
    public static func of(_ prediction: CachedPrediction?, width: Int, height: Int, showUnflagged: Bool) -> PredictionOverlay? {
        guard let p = prediction, !p.maskDropped else { return nil }
        if isSegmenterOnly(p, showUnflagged: showUnflagged), let own = p.unflaggedMask {
            return PredictionOverlay(mask: own, segmenterOnly: true)
        }
        return PredictionOverlay(mask: p.mask ?? SliceMask(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height)),
                                 segmenterOnly: false)
    }

    /// Whether `of` gives the segmenter's own mask for `prediction`.
    public static func isSegmenterOnly(_ prediction: CachedPrediction?, showUnflagged: Bool) -> Bool {
        guard let p = prediction, !p.maskDropped else { return false }
        return !p.flagged && showUnflagged && p.unflaggedMask != nil
    }

    /// How much of the way to the viewer's background the segmenter-only mask's colour goes.
    public static let dimming: Float = 0.55

    /// `style` with the prediction colour dimmed when this overlay is the segmenter's alone.
    public func style(_ style: PaneStyle) -> PaneStyle {
        guard segmenterOnly else { return style }
        var dimmed = style
        dimmed.theme.overlayPrediction = style.theme.overlayPrediction.blended(with: style.theme.viewerBackground, alpha: Self.dimming)
        return dimmed
    }

    /// Appended to the render cache's slice id: the overlay's kind changes the picture.
    public var cacheSuffix: String { segmenterOnly ? "+s" : "+p" }

    /// Appended to the viewer's caption.
    public var captionNote: String { segmenterOnly ? "  segmenter only, dimmed" : "" }
}
