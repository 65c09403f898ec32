// Readable colour pairs. A theme picks colours for one background each (accent for key names on
// the status bar, list colours on rows); where the pair is too close (the high-contrast theme's
// yellow on its white status bar) text falls back to black or white, whichever reads better.
import Foundation

extension RGB {
    /// WCAG relative luminance, 0 (black) ... 1 (white).
    public var relativeLuminance: Double {
        func linear(_ c: UInt8) -> Double {
            let v = Double(c) / 255
            return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }

    /// WCAG contrast ratio with `other`, 1 (same) ... 21 (black on white).
    public func contrast(with other: RGB) -> Double {
        let (a, b) = (relativeLuminance, other.relativeLuminance)
        return (max(a, b) + 0.05) / (min(a, b) + 0.05)
    }

    /// This colour when it reads on `background` (contrast at least 3, WCAG's bar for bold and
    /// large text), else black or white, whichever contrasts more.
    public func readable(on background: RGB) -> RGB {
        if contrast(with: background) >= 3 { return self }
        let black = RGB(0, 0, 0), white = RGB(255, 255, 255)
        return black.contrast(with: background) >= white.contrast(with: background) ? black : white
    }
}
