// The dataset browser: the patient list and, below it, the selected patient's slices.
//
// Both lists are views over the source: `patientRows` / `sliceRows` hold indices into
// `source.patients` / `patient.slices` after filtering and sorting. Selection is kept by identity
// (patient id, slice number) when the filter or the sort order changes.
//
// Model output is laid over the source's rows: `predictions` (from the workbench's prediction
// cache), `decisions` (triage decisions of the same pair) and `seenPatients` (the patients the
// shipped models were trained or validated on, listed in a "Seen" column when there are any).
// A sort by model output is redone as predictions arrive (`updateModelOutput`).
//
// Every column can be sorted by (`s` cycles, in column order), plus the disagreement of prediction
// and truth. Numbers sort with the most telling first (largest area, highest P(tumor), lowest
// Dice, largest disagreement); slices without the value go last; ties keep slice order.

/// Sort orders of the slice list.
public enum SliceSort: Int, CaseIterable, Sendable {
    case number, truth, tumorArea, probability, dice, disagreement, triage

    /// Name shown in the list title.
    public var label: String {
        switch self {
        case .number: "slice number"
        case .truth: "truth"
        case .tumorArea: "tumor area"
        case .probability: "P(tumor)"
        case .dice: "Dice"
        case .disagreement: "disagreement"
        case .triage: "triage"
        }
    }

    /// Whether the order depends on the model pair's predictions or decisions.
    public var usesModelOutput: Bool { [.probability, .dice, .disagreement, .triage].contains(self) }
}

/// Sort orders of the patient list.
public enum PatientSort: Int, CaseIterable, Sendable {
    case id, site, sliceCount, tumorSlices

    /// Name shown in the list title.
    public var label: String {
        switch self {
        case .id: "patient id"
        case .site: "site"
        case .sliceCount: "slices"
        case .tumorSlices: "tumor slices"
        }
    }
}

/// State and drawing of the patient and slice lists.
public struct BrowserPane: Sendable {
    /// The dataset listed.
    public let source: any SliceSource
    /// Indices into `source.patients`, filtered and sorted.
    public private(set) var patientRows: [Int] = []
    /// Indices into the selected patient's slices, filtered and sorted.
    public private(set) var sliceRows: [Int] = []
    /// Selection and scroll of the patient list.
    public var patients = ListState()
    /// Selection and scroll of the slice list.
    public var slices = ListState()
    /// Text the patient list is filtered by.
    public private(set) var patientFilter = ""
    /// Text the slice list is filtered by.
    public private(set) var sliceFilter = ""
    /// Order of the patient list.
    public private(set) var patientSort = PatientSort.id
    /// Order of the slice list.
    public private(set) var sliceSort = SliceSort.number
    /// Predictions of the current model pair, by slice.
    public var predictions: [SliceKey: CachedPrediction] = [:]
    /// Triage decisions of the current model pair, by slice.
    public var decisions: [SliceKey: String] = [:]
    /// "train" / "val" for patients the shipped models were trained or validated on.
    public var seenPatients: [String: String] = [:]
    private var modelOutputVersion: Int?

    /// A browser over `source`, first patient and first slice selected.
    public init(source: any SliceSource) {
        self.source = source
        refreshPatients()
    }

    /// The selected patient, if the filtered list is not empty.
    public var selectedPatient: PatientSummary? {
        patientRows.isEmpty ? nil : source.patients[patientRows[patients.selected]]
    }

    /// The selected slice of the selected patient.
    public var selectedSlice: SliceSummary? {
        guard let patient = selectedPatient, !sliceRows.isEmpty else { return nil }
        return patient.slices[sliceRows[slices.selected]]
    }

    /// The selected slice's key.
    public var selectedKey: SliceKey? {
        guard let patient = selectedPatient, let slice = selectedSlice else { return nil }
        return SliceKey(patient: patient.id, slice: slice.number)
    }

    /// P(tumor) of a slice: the model pair's prediction, else what the source says.
    public func probability(patient: String, slice: SliceSummary) -> Double? {
        predictions[SliceKey(patient: patient, slice: slice.number)]?.probability.map(Double.init) ?? slice.predictedProbability
    }

    /// Takes the model pair's predictions (of cache version `version`) and decisions; a sort by
    /// them is redone when either changed, the selection kept.
    public mutating func updateModelOutput(predictions: [SliceKey: CachedPrediction], decisions: [SliceKey: String], version: Int) {
        let changed = version != modelOutputVersion || decisions != self.decisions
        self.predictions = predictions
        self.decisions = decisions
        modelOutputVersion = version
        if changed, sliceSort.usesModelOutput { refreshSlices(keeping: selectedSlice?.number) }
    }

    /// Triage decision of a slice: the model pair's, else what the source says.
    public func triage(patient: String, slice: SliceSummary) -> String? {
        decisions[SliceKey(patient: patient, slice: slice.number)] ?? slice.triage
    }

    /// Call after moving the patient selection: rebuilds the slice list for the new patient.
    public mutating func patientSelectionChanged() {
        slices = ListState()
        refreshSlices(keeping: nil)
    }

    /// Steps to the neighbouring slice in volume order (not list order), so stepping through a
    /// volume works whatever the sort; the list selection follows.
    public mutating func stepSlice(by delta: Int) {
        guard let patient = selectedPatient, let current = selectedSlice,
              let position = patient.slices.firstIndex(of: current) else { return }
        let target = max(0, min(patient.slices.count - 1, position + delta))
        if let row = sliceRows.firstIndex(of: target) { slices.select(row) }
    }

    /// Sets the filter of the patient list (case-insensitive substring of id, institution, metadata).
    public mutating func setPatientFilter(_ text: String) {
        let keep = selectedPatient?.id
        patientFilter = text
        refreshPatients(keeping: keep)
    }

    /// Sets the filter of the slice list (substring of the row text, e.g. "tumor" or "12").
    public mutating func setSliceFilter(_ text: String) {
        let keep = selectedSlice?.number
        sliceFilter = text
        refreshSlices(keeping: keep)
    }

    /// Next patient sort order.
    public mutating func cyclePatientSort() {
        let keep = selectedPatient?.id
        patientSort = PatientSort(rawValue: (patientSort.rawValue + 1) % PatientSort.allCases.count)!
        refreshPatients(keeping: keep)
    }

    /// Next slice sort order.
    public mutating func cycleSliceSort() {
        let keep = selectedSlice?.number
        sliceSort = SliceSort(rawValue: (sliceSort.rawValue + 1) % SliceSort.allCases.count)!
        refreshSlices(keeping: keep)
    }

    private mutating func refreshPatients(keeping id: String? = nil) {
        let needle = patientFilter.lowercased()
        var rows = source.patients.indices.filter { i in
            guard !needle.isEmpty else { return true }
            let p = source.patients[i]
            let text = ([p.id, p.institution] + p.metadata.values).joined(separator: " ").lowercased()
            return text.contains(needle)
        }
        let ps = source.patients
        switch patientSort {
        case .id: break
        case .site: rows = Self.sorted(rows) { ps[$0].institution }
        case .sliceCount: rows = Self.sorted(rows) { -ps[$0].slices.count }
        case .tumorSlices: rows = Self.sorted(rows) { -ps[$0].tumorSliceCount }
        }
        patientRows = rows
        patients.setCount(rows.count)
        if let id, let row = rows.firstIndex(where: { source.patients[$0].id == id }) { patients.select(row) }
        refreshSlices(keeping: selectedSlice?.number)
    }

    private mutating func refreshSlices(keeping number: Int?) {
        guard let patient = selectedPatient else {
            sliceRows = []
            slices.setCount(0)
            return
        }
        let needle = sliceFilter.lowercased()
        var rows = patient.slices.indices.filter {
            needle.isEmpty || Self.rowText(patient.slices[$0], triage: triage(patient: patient.id, slice: patient.slices[$0])).contains(needle)
        }
        let ss = patient.slices
        func prediction(_ i: Int) -> CachedPrediction? { predictions[SliceKey(patient: patient.id, slice: ss[i].number)] }
        // Decisions needing a second look first.
        let decisionRank = ["flag": 0, "reject": 1, "accept": 2]
        switch sliceSort {
        case .number: break
        case .truth: rows = Self.sorted(rows) { ss[$0].hasTumor.map { $0 ? 0 : 1 } ?? 2 }
        case .tumorArea: rows = Self.sorted(rows) { ss[$0].tumorArea.map { -Double($0) } }
        case .probability: rows = Self.sorted(rows) { probability(patient: patient.id, slice: ss[$0]).map { -$0 } }
        case .dice: rows = Self.sorted(rows) { prediction($0)?.dice }
        case .disagreement: rows = Self.sorted(rows) { prediction($0)?.disagreement.map { -$0 } }
        case .triage: rows = Self.sorted(rows) { triage(patient: patient.id, slice: ss[$0]).map { decisionRank[$0.lowercased()] ?? 3 } }
        }
        sliceRows = rows
        slices.setCount(rows.count)
        if let number, let row = rows.firstIndex(where: { patient.slices[$0].number == number }) { slices.select(row) }
    }

    /// `rows` by ascending `key`, rows without a key last, ties in their order.
    private static func sorted<K: Comparable>(_ rows: [Int], by key: (Int) -> K?) -> [Int] {
        rows.enumerated().map { (key($1), $0, $1) }.sorted { a, b in
            switch (a.0, b.0) {
            case let (x?, y?): x != y ? x < y : a.1 < b.1
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): a.1 < b.1
            }
        }.map(\.2)
    }

    private static func rowText(_ s: SliceSummary, triage: String?) -> String {
        var parts = ["\(s.number)", s.hasTumor == true ? "tumor" : s.hasTumor == false ? "clear" : "unknown"]
        if let t = triage { parts.append(t.lowercased()) }
        return parts.joined(separator: " ")
    }

    // MARK: Drawing

    /// Draws the patient list inside `rect` (a box with title), one patient per row.
    public mutating func drawPatients(into buffer: inout CellBuffer, rect: Rect, focused: Bool, style: PaneStyle) {
        let ids = patientRows.map { source.patients[$0] }
        let idWidth = max(7, ids.map(\.id.count).max() ?? 7)
        var columns: [ListColumn] = [
            ListColumn(title: "Patient", width: idWidth, alignRight: false),
            ListColumn(title: "Site", width: 4, alignRight: false),
            ListColumn(title: "Slices", width: 6, alignRight: true),
            ListColumn(title: "Tumor", width: 5, alignRight: true),
        ]
        let showSeen = !seenPatients.isEmpty
        if showSeen { columns.append(ListColumn(title: "Seen", width: 5, alignRight: false)) }
        var used = columns.reduce(0) { $0 + $1.width + 1 }
        var metadataShown: [String] = []
        for name in source.metadataColumns where name.lowercased() != "patient" {
            let widest = ids.map { ($0.metadata[name] ?? "").count }.max() ?? 0
            let width = min(14, max(name.count, widest))
            guard used + width + 1 <= rect.width - 2 else { break }
            columns.append(ListColumn(title: name, width: width, alignRight: false))
            metadataShown.append(name)
            used += width + 1
        }
        let title = "Patients \(patientRows.isEmpty ? 0 : patients.selected + 1)/\(patientRows.count)"
            + (patientFilter.isEmpty ? "" : " /\(patientFilter)") + (patientSort == .id ? "" : " by \(patientSort.label)")
        let dash = style.glyphs == .unicode ? "·" : "-"
        var state = patients
        defer { patients = state }
        drawList(into: &buffer, rect: rect, title: title, columns: columns, state: &state, focused: focused, style: style) { row in
            let p = source.patients[patientRows[row]]
            let tumor = p.tumorSliceCount
            var cells: [(String, RGB?)] = [(p.id, nil), (p.institution, nil), ("\(p.slices.count)", nil),
                                           (tumor > 0 ? "\(tumor)" : dash, tumor > 0 ? style.theme.tumor : style.theme.muted)]
            if showSeen { cells.append((seenPatients[p.id] ?? "", style.theme.accent)) }
            for name in metadataShown { cells.append((p.metadata[name] ?? dash, nil)) }
            return cells
        }
    }

    /// Draws the selected patient's slices inside `rect`.
    public mutating func drawSlices(into buffer: inout CellBuffer, rect: Rect, focused: Bool, style: PaneStyle) {
        // Dice (of prediction and truth) when the list is wide enough to keep the Triage column whole.
        let showDice = rect.width >= 48
        let columns = [
            ListColumn(title: "Slice", width: 5, alignRight: true),
            ListColumn(title: "Truth", width: 6, alignRight: false),
            ListColumn(title: "Area", width: 5, alignRight: true),
            ListColumn(title: "P(tumor)", width: 8, alignRight: true),
        ] + (showDice ? [ListColumn(title: "Dice", width: 5, alignRight: true)] : []) + [
            ListColumn(title: "Triage", width: 9, alignRight: false),
        ]
        let title = "Slices \(sliceRows.isEmpty ? 0 : slices.selected + 1)/\(sliceRows.count)"
            + (sliceFilter.isEmpty ? "" : " /\(sliceFilter)") + (sliceSort == .number ? "" : " by \(sliceSort.label)")
        let unicode = style.glyphs == .unicode
        let dash = unicode ? "·" : "-"
        var state = slices
        defer { slices = state }
        drawList(into: &buffer, rect: rect, title: title, columns: columns, state: &state, focused: focused, style: style) { row in
            guard let patient = selectedPatient else { return [] }
            let s = patient.slices[sliceRows[row]]
            let flag: (String, RGB?) = switch s.hasTumor {
            case true?: (unicode ? "● yes" : "* yes", style.theme.tumor)
            case false?: ("  no", style.theme.muted)
            case nil: ("  ?", style.theme.error)
            }
            let area = s.tumorArea.map { $0 > 0 ? "\($0)" : dash } ?? "?"
            let p = probability(patient: patient.id, slice: s), decision = triage(patient: patient.id, slice: s)
            let dice = predictions[SliceKey(patient: patient.id, slice: s.number)]?.dice
            return [("\(s.number)", nil), flag, (area, s.tumorArea ?? 0 > 0 ? nil : style.theme.muted),
                    (p.map { Self.probabilityText($0) } ?? dash, p == nil ? style.theme.muted : nil)]
                + (showDice ? [(dice.map { Self.probabilityText($0) } ?? dash, dice == nil ? style.theme.muted : nil)] : [])
                + [(decision ?? dash, decision == nil ? style.theme.muted : nil)]
        }
    }

    /// The data row under screen row `y` of a list drawn in `rect`, if any (for mouse clicks).
    public static func row(at y: Int, in rect: Rect, state: ListState) -> Int? {
        let first = rect.y + 2  // border + header
        guard y >= first, y < rect.y + rect.height - 1 else { return nil }
        let row = state.offset + (y - first)
        return row < state.count ? row : nil
    }

    /// A probability with two decimals ("0.93"), independent of the locale.
    public static func probabilityText(_ value: Double) -> String {
        let hundredths = Int((max(0, min(1, value)) * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// Data rows that fit in a list drawn in `rect`.
    public static func visibleRows(in rect: Rect) -> Int { max(1, rect.height - 3) }
}
