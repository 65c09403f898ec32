// Named window/level settings the viewer cycles through (the habit of ITK-SNAP's and Slicer's
// presets). The slices are 8-bit, scaled per volume when the dataset was made, so the presets are
// ranges of that 0...255 scale, not Hounsfield-like units: the whole range; the middle of it, where
// brain tissue lies on FLAIR; a narrow band that separates a FLAIR lesion from the tissue around it;
// and the lower half, for a pre-contrast channel that is dark throughout.

/// A named window/level.
public struct WindowPreset: Sendable, Equatable {
    /// Name shown in the legend.
    public let name: String
    /// Intensity span mapped to black...white.
    public let window: Double
    /// Intensity mapped to mid-gray.
    public let level: Double

    /// Whether `options` shows exactly this preset.
    public func matches(_ options: RenderOptions) -> Bool { options.window == window && options.level == level }

    /// The presets, in the order the key cycles them.
    public static let all: [WindowPreset] = [
        WindowPreset(name: "full range", window: 255, level: 127.5),
        WindowPreset(name: "tissue", window: 160, level: 110),
        WindowPreset(name: "lesion", window: 80, level: 130),
        WindowPreset(name: "dark channel", window: 128, level: 64),
    ]
}
