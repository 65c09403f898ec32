// The triage panel beside the image: the model pair, the walk (queue or every slice) with its
// counts, what the models said about the slice, the reader's decision, and the decision keys with
// what each rating means. Keys come from the key table, so a remapped key shows as remapped.
//
// Tall terminals get one row per value and one key per line. When that does not fit (80x24), the
// run ids share a row, truth and prediction share a row and keys are packed several to a line with
// short rating labels, so every rating's meaning stays on screen.
import GliaTraining

extension TriagePane {
    /// Triage commands the panel lists, in order, with their panel labels (short form for packed lines).
    private static func panelKeys(_ keys: KeyTable, glyphs: GlyphMode, short: Bool) -> [(key: String, label: String)] {
        let ratings: [(Command, TriageRating)] = [(.rate1, .acceptable), (.rate2, .minorEdits), (.rate3, .majorEdits), (.rate4, .wrong)]
        var labels: [(command: Command, long: String, short: String)] = [
            (.accept, "accept, next", "accept"), (.reject, "reject", "reject"), (.flag, "flag for review", "flag"),
        ]
        labels += ratings.map { ($0.0, $0.1.label, $0.1.shortLabel) }
        labels += [(.note, "note", "note"), (.queue, "queue / all", "queue"), (.list, "list, jump", "list"), (.order, "order", "order"),
                   (.nextUndecided, "next undecided", "undecided")]
        var entries: [(key: String, label: String)] = labels.compactMap { entry in
            keys.binding(entry.command, in: .triage)?.keys.first.map { (key: $0.label(glyphs: glyphs), label: short ? entry.short : entry.long) }
        }
        if let key = keys.binding(.segmenterMask, in: .image)?.keys.first {
            entries.append((key: key.label(glyphs: glyphs), label: short ? "seg. mask" : "segmenter's mask"))
        }
        return entries
    }

    /// Draws the panel of the open session into `rect`; `segmenterOnly`: the image shows the
    /// segmenter's own mask of a slice the classifier did not flag.
    func drawPanel(into buffer: inout CellBuffer, rect: Rect, style: PaneStyle, keys: KeyTable, segmenterOnly unflagged: Bool) {
        guard let session else { return }
        let theme = style.theme
        buffer.fill(rect, with: Cell(" ", foreground: theme.foreground, background: theme.background))
        buffer.box(rect, title: "Triage", glyphs: style.glyphs, foreground: theme.focus, background: theme.background)
        let inner = rect.inset(1)
        let ellipsis = style.glyphs == .unicode ? "…" : "..."
        let key = session.current
        let p = key.flatMap { cache?.prediction(for: $0) }
        let fullKeys = Self.panelKeys(keys, glyphs: style.glyphs, short: false)
        let seen = key.flatMap { seenPatients[$0.patient] }
        // Rows of the tall layout: 7 about the session (+ shipped), 4 about the slice (+ the segmenter's
        // own mask), 3 about the decision, 3 blanks, the keys and the status line.
        let tallRows = 7 + (seen == nil ? 0 : 1) + 4 + (unflagged ? 1 : 0) + 3 + 3 + fullKeys.count + 1
        let compact = inner.height < tallRows
        var y = inner.y
        let last = inner.y + inner.height - 1  // the status line
        func row(_ label: String, _ value: String, _ color: RGB? = nil, bold: Bool = false) {
            guard y < last else { return }
            buffer.text(label, x: inner.x + 1, y: y, maxWidth: 11, foreground: theme.muted, background: theme.background)
            buffer.text(value, x: inner.x + 12, y: y, maxWidth: inner.width - 13, foreground: color ?? theme.foreground,
                        background: theme.background, attributes: bold ? .bold : [])
            y += 1
        }
        let parts = session.modelRun.split(separator: "+").map(String.init)
        let (classifier, segmenter) = (parts.first ?? "", parts.count > 1 ? parts[1] : "")
        // A line across the panel, for values the label column would leave too little room.
        func line(_ text: String, _ color: RGB) {
            if y < last { buffer.text(text, x: inner.x + 1, y: y, maxWidth: inner.width - 2, foreground: color, background: theme.background) }
            y += 1
        }
        if compact {
            let half = (inner.width - 5) / 2
            line(RunLabel.fitting(classifier, width: half) + " + " + RunLabel.fitting(segmenter, width: half), theme.foreground)
        } else {
            row("classifier", RunLabel.fitting(classifier, width: inner.width - 13))
            row("segmenter", RunLabel.fitting(segmenter, width: inner.width - 13))
            row("order", session.ordering.label)
            row("decided", "\(session.decisions.count) of \(session.slices.count)")
        }
        let counts = session.counts
        let walked = session.queueOnly ? "\(session.order.count) of \(session.slices.count) slices" : "\(session.order.count) slices"
        row(session.queueOnly ? "queue" : "all slices", walked + (compact && session.ordering != .patient ? ", \(session.ordering.label)" : ""),
            session.queueOnly ? theme.accent : nil)
        let tally = "\(counts.toDo) to do, \(counts.accepted) acc, \(counts.rejected) rej, \(counts.flagged) flag"
        if compact {
            line(tally, theme.foreground)
        } else {
            row("counts", tally)
        }
        if let seen { row("shipped", seen == "val" ? "seen in validation" : "seen in training", theme.accent) }
        if let cache {
            let progress = cache.failure.map { _ in "failed" }
                ?? (cache.isReady ? "\(cache.computedCount)/\(session.slices.count) slices done" : "loading models" + ellipsis)
            row("inference", progress, cache.failure == nil ? theme.muted : theme.error)
        }
        if !compact { y += 1 }
        if let failure = cache?.failure {
            row("", failure, theme.error)
        } else if let p {
            row("P(tumor)", p.probability.map { String(format: "%.3f", $0) + (p.flagged ? "  flagged" : "") } ?? "-",
                p.flagged ? theme.tumor : theme.foreground, bold: true)
            row("Dice", p.dice.map { String(format: "%.3f", $0) + (p.predictedArea == 0 && p.truthArea == 0 ? "  (both empty)" : "") } ?? "no truth",
                bold: true)
            let truth = p.truthArea.map { "\($0) px" } ?? "unknown"
            if compact {
                row("truth/pred", "\(truth) / \(p.predictedArea) px", theme.overlayPrediction)
            } else {
                row("truth", truth, theme.overlayTruth)
                row("predicted", "\(p.predictedArea) px", theme.overlayPrediction)
            }
            if unflagged, let area = p.unflaggedArea {
                row("seg. only", "\(area) px, drawn dimmed", theme.overlayPrediction.blended(with: theme.background, alpha: 0.4))
            }
        } else if key != nil {
            row("P(tumor)", "predicting" + ellipsis, theme.accent)
            row("Dice", "predicting" + ellipsis, theme.accent)
            y += compact ? 1 : 2
        } else {
            row("", session.queueOnly ? "queue empty so far" : "no slice", theme.muted)
        }
        if !compact { y += 1 }
        let decision = session.currentDecision
        let decisionColor: RGB = switch decision?.decision {
        case .accept: theme.focus
        case .reject: theme.error
        case .flag: theme.accent
        case nil: theme.muted
        }
        row("decision", decision?.decision.rawValue.uppercased() ?? "none", decisionColor, bold: true)
        let rating = decision?.rating ?? session.pendingRating
        row("rating", rating.map { "\($0.rawValue) \(compact ? $0.shortLabel : $0.label)" } ?? "-")
        if let noteInput {
            row("note", noteInput + (style.glyphs == .unicode ? "▏" : "_"), theme.accent)
        } else if let pending = session.pendingNote {
            row("note", pending + " (unsaved: a/r/f)", theme.accent)
        } else {
            row("note", decision?.note ?? "-")
        }
        y += 1
        drawKeys(compact ? Self.panelKeys(keys, glyphs: style.glyphs, short: true) : fullKeys, packed: compact,
                 into: &buffer, x: inner.x + 1, y: &y, width: inner.width - 2, below: last, style: style)
        if let status = session.status {
            buffer.text(status.text, x: inner.x + 1, y: last, maxWidth: inner.width - 2,
                        foreground: status.isError ? theme.error : theme.focus, background: theme.background, attributes: .bold)
        }
    }

    /// Key and label pairs, one a line, or `packed` several to a line (never split across lines).
    private func drawKeys(_ entries: [(key: String, label: String)], packed: Bool, into buffer: inout CellBuffer,
                          x: Int, y: inout Int, width: Int, below last: Int, style: PaneStyle) {
        let theme = style.theme
        var cx = x
        for entry in entries {
            let needed = entry.key.count + 1 + entry.label.count
            if cx > x, !packed || cx + 2 + needed > x + width {
                y += 1
                cx = x
            } else if cx > x {
                cx += 2
            }
            guard y < last else { return }
            cx += buffer.text(entry.key, x: cx, y: y, maxWidth: x + width - cx, foreground: theme.accent, background: theme.background,
                              attributes: .bold)
            cx += buffer.text(" " + entry.label, x: cx, y: y, maxWidth: max(0, x + width - cx), foreground: theme.muted,
                              background: theme.background)
        }
        y += 1
    }
}
