// Run ids in narrow lists. An id reads "<recipe>-<yyyyMMdd-HHmmss>[-n]"; cut at the right it
// became "segmenter-2", which names no run. Narrow lists show the recipe's initial and as much of
// the time stamp as fits, dropping the year first, so every row still tells runs apart.

/// Short forms of run ids.
public enum RunLabel {
    /// `id` if it fits in `width`, else "S 20261202-075958", else "S 1202-075958", else cut.
    public static func fitting(_ id: String, width: Int) -> String {
        guard id.count > width else { return id }
        let parts = id.split(separator: "-", maxSplits: 1).map(String.init)
        guard parts.count == 2, let initial = parts[0].first, parts[1].first?.isNumber == true else {
            return String(id.prefix(max(0, width)))
        }
        let short = "\(initial.uppercased()) \(parts[1])"
        if short.count <= width { return short }
        let noYear = "\(initial.uppercased()) \(parts[1].dropFirst(4))"
        return String(noYear.prefix(max(0, width)))
    }
}
