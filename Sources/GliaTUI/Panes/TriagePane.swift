// Triage mode: first a model pair is picked (a classifier run and a segmenter run from the
// workspace, or the shipped models, listed last; the pair triaged last is preselected, else the
// newest runs); then slices are shown one at a time with the ground truth filled
// and the prediction outlined (the viewer's overlay), the predicted probability and per-slice Dice,
// and one key each to accept, reject or flag, a 1-4 rating and a note. Decisions go through
// `TriageSession` to the workspace database before the status says "saved". The panel beside the
// image is drawn in TriagePanel.swift; the list of the queue, which replaces the image while open,
// in TriageQueueList.swift.
import Foundation
import GliaData
import GliaTraining

/// A model the triage picker offers: a workspace run or a shipped checkpoint.
public struct TriageModel: Sendable, Equatable {
    /// The run id, or "shipped"; the pair's ids make the session key ("<classifier>+<segmenter>").
    public var id: String
    /// What `TrainedModel.load` is given: the run id or the checkpoint's path.
    public var reference: String
    /// Shown in the picker's status column.
    public var status: String
    /// The dataset it was trained on, as the picker shows it (a folder name, or "LGG" for shipped models).
    public var dataset: String = ""
    /// Its best validation metric (accuracy or Dice), when known.
    public var metric: Double?
    /// Why it may not fit the dataset open (trained on another one), nil when it fits or nobody knows.
    public var mismatch: String?

    /// The id used for shipped models.
    public static let shippedID = "shipped"
}

/// State and drawing of triage mode.
public struct TriagePane: Sendable {
    /// Classifiers to pick from: runs newest first, then the shipped one.
    public private(set) var classifiers: [TriageModel] = []
    /// Segmenters to pick from: runs newest first, then the shipped one.
    public private(set) var segmenters: [TriageModel] = []
    /// Patients the shipped models were trained or validated on ("train" / "val"), for the panel's note.
    public var seenPatients: [String: String] = [:]
    /// Cursors of the two picker lists.
    public var classifierCursor = ListState(), segmenterCursor = ListState()
    /// Which picker list has the keyboard (false = classifiers).
    public var pickingSegmenter = false
    /// The open session, after a pair was picked.
    public var session: TriageSession?
    /// Background predictions of the open session.
    public private(set) var cache: PredictionCache?
    /// The note being typed, or nil.
    public var noteInput: String?
    /// The list of the session's walk, while open (it replaces the image).
    public var queueList: TriageQueueList?
    /// The pair ("<classifier>+<segmenter>") whose dataset mismatch was shown; Enter again opens it anyway.
    public private(set) var mismatchShown: String?
    /// Slice drawing (overlay, channel, window) shared with the browser's keys.
    public var viewer = ViewerPane()
    private var slices = SliceCache(capacity: 12)
    private var seenVersion = -1

    /// An empty triage pane.
    public init() {}

    /// Re-reads the runs that can be picked (those with a checkpoint on disk), adds the `shipped`
    /// models after them, and preselects the pair triaged last, so a restarted workstation continues
    /// with the same models.
    public mutating func reloadRuns(store: RunStore, triageStore: TriageStore, shipped: ShippedModels? = nil,
                                    dataPath: String = "", patients: Set<String> = []) {
        let runs = ((try? store.runs()) ?? []).filter { run in
            let folder = store.folder(for: run.id)
            return ["best", "last"].contains { FileManager.default.fileExists(atPath: folder.appendingPathComponent("\($0).safetensors").path) }
        }
        let open = Self.canonical(dataPath)
        func model(_ run: RunSummary) -> TriageModel {
            var m = TriageModel(id: run.id, reference: run.id, status: run.status, metric: run.bestValidationMetric)
            if let trainedOn = (try? run.decodedConfiguration())?.dataPath {
                m.dataset = URL(fileURLWithPath: trainedOn).lastPathComponent
                if !dataPath.isEmpty, Self.canonical(trainedOn) != open { m.mismatch = "\(run.id) was trained on \(trainedOn), not on the dataset open" }
            }
            return m
        }
        // The shipped models' split names the LGG patients they saw: a dataset with none of them is another one.
        let seen = Set(seenPatients.keys)
        let shippedMismatch = !seen.isEmpty && !patients.isEmpty && seen.isDisjoint(with: patients)
            ? "the shipped models were trained on the LGG dataset, which has none of this dataset's patients" : nil
        func models(_ recipe: RecipeKind, shipped file: URL?) -> [TriageModel] {
            runs.filter { $0.recipe == recipe.rawValue }.map(model)
                + (file.map { [TriageModel(id: TriageModel.shippedID, reference: $0.path, status: "shipped", dataset: "LGG",
                                           mismatch: shippedMismatch)] } ?? [])
        }
        classifiers = models(.classifier, shipped: shipped?.classifier)
        segmenters = models(.segmenter, shipped: shipped?.segmenter)
        classifierCursor.setCount(classifiers.count)
        segmenterCursor.setCount(segmenters.count)
        if let last = try? triageStore.latestPosition() {
            let ids = last.modelRun.split(separator: "+").map(String.init)
            if ids.count == 2, let c = classifiers.firstIndex(where: { $0.id == ids[0] }),
               let s = segmenters.firstIndex(where: { $0.id == ids[1] }) {
                classifierCursor.select(c)
                segmenterCursor.select(s)
            }
        }
    }

    /// Opens the session of the picked pair over `source`, restoring its position.
    public mutating func openPicked(source: any SliceSource, runStore: RunStore, triageStore: TriageStore) -> String? {
        guard classifiers.indices.contains(classifierCursor.selected), segmenters.indices.contains(segmenterCursor.selected) else {
            return "triage needs a classifier run and a segmenter run with checkpoints (train them first)"
        }
        let c = classifiers[classifierCursor.selected], s = segmenters[segmenterCursor.selected]
        // A model trained on another dataset is said once; Enter again means "use it anyway".
        let pair = "\(c.id)+\(s.id)"
        if let mismatch = c.mismatch ?? s.mismatch, mismatchShown != pair {
            mismatchShown = pair
            // The instruction first: on a narrow status bar the end of the line is cut.
            return "Enter again to triage anyway: \(mismatch)"
        }
        mismatchShown = nil
        let keys = source.patients.flatMap { p in p.slices.map { SliceKey(patient: p.id, slice: $0.number) } }
        let truthTumor = Set(source.patients.flatMap { p in p.slices.filter { $0.hasTumor == true }.map { SliceKey(patient: p.id, slice: $0.number) } })
        do {
            var opened = try TriageSession(modelRun: "\(c.id)+\(s.id)", slices: keys, store: triageStore, truthTumor: truthTumor)
            if opened.ordering != .patient {
                // A prediction-based order needs predictions: start in patient order at the saved slice.
                let keep = opened.current
                while opened.ordering != .patient { opened.cycleOrdering(predictions: [:]) }
                if let keep, let i = opened.order.firstIndex(of: keep) { opened.move(by: i - opened.index) }
            }
            session = opened
            cache?.cancel()
            // The cache walks every slice in patient order (the queue grows from its results), from
            // the slice the session resumes at; `refresh` moves its focus by key.
            let start = (opened.anchor ?? opened.current).flatMap { keys.firstIndex(of: $0) } ?? 0
            cache = PredictionCache(classifier: c.reference, segmenter: s.reference, store: runStore, source: source,
                                    order: keys, focus: start)
            return opened.status?.text
        } catch {
            return "cannot open triage: \(error)"
        }
    }

    /// `path` standardized with links resolved, so two spellings of one folder compare equal.
    static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// Closes the session (back to the picker). The cache is dropped, not cancelled: the browser may
    /// go on using it (it stops when its last holder lets go).
    public mutating func close() {
        cache = nil
        session = nil
        noteInput = nil
        queueList = nil
    }

    /// Tells the prediction cache where the cursor is; returns true when new predictions arrived.
    public mutating func refresh() -> Bool {
        guard let cache, let session else { return false }
        // By key: the session's order (queue, sort) is not the cache's.
        if let key = session.anchor ?? session.current { cache.setFocus(key) }
        let version = cache.version
        defer { seenVersion = version }
        guard version != seenVersion else { return false }
        self.session?.refreshQueue(predictions: cache.results)
        return true
    }

    /// Toggles the queue of the open session (the cache goes on predicting every slice, so the queue grows).
    public mutating func toggleQueue() {
        session?.toggleQueue(predictions: cache?.results ?? [:])
    }

    /// Switches the session to its next order (the cache keeps walking in patient order).
    public mutating func cycleOrdering() {
        session?.cycleOrdering(predictions: cache?.results ?? [:])
    }

    /// Opens the list of the session's walk, on the current slice, or closes it.
    public mutating func toggleList() {
        guard let session, queueList == nil else {
            queueList = nil
            return
        }
        queueList = TriageQueueList(order: session.order, current: session.current)
    }

    /// Moves the open list's cursor.
    public mutating func moveList(by delta: Int) {
        guard let order = session?.order else { return }
        queueList?.move(by: delta, in: order)
    }

    /// Shows the slice under the list's cursor and closes the list.
    public mutating func jumpToListed() {
        if let key = queueList?.selected { session?.jump(to: key) }
        queueList = nil
    }

    // MARK: Drawing

    /// Draws the picker or the open session into `rect`; `showUnflagged`: whether the segmenter's
    /// own mask is drawn (dimmed) where the classifier says no tumor.
    public mutating func draw(into buffer: inout CellBuffer, rect: Rect, style: PaneStyle, source: any SliceSource, keys: KeyTable,
                              showUnflagged: Bool = true) {
        guard let session else {
            drawPicker(into: &buffer, rect: rect, style: style)
            return
        }
        let panel = min(48, max(34, rect.width * 3 / 8))
        let left = Rect(x: rect.x, y: rect.y, width: rect.width - panel, height: rect.height)
        let segmenterOnly = PredictionOverlay.isSegmenterOnly(session.current.flatMap { cache?.prediction(for: $0) },
                                                              showUnflagged: showUnflagged)
        if var list = queueList {
            list.draw(into: &buffer, rect: left, style: style, session: session, predictions: cache?.results ?? [:])
            queueList = list
        } else {
            drawSlice(into: &buffer, rect: left, style: style, source: source, showUnflagged: showUnflagged)
        }
        drawPanel(into: &buffer, rect: Rect(x: rect.x + rect.width - panel, y: rect.y, width: panel, height: rect.height), style: style,
                  keys: keys, segmenterOnly: segmenterOnly)
    }

    private mutating func drawPicker(into buffer: inout CellBuffer, rect: Rect, style: PaneStyle) {
        let theme = style.theme
        buffer.fill(rect, with: Cell(" ", foreground: theme.foreground, background: theme.background))
        let half = rect.width / 2
        let listHeight = rect.height - 3
        let (cs, ss) = (classifiers, segmenters)
        // STATUS fits "interrupted"; DATA and the validation metric when there is room; RUN takes the rest.
        func columns(_ width: Int, metric: String) -> [ListColumn] {
            let wide = width >= 64
            return [ListColumn(title: "RUN", width: width - (wide ? 36 : 16), alignRight: false),
                    ListColumn(title: "STATUS", width: 11, alignRight: false)]
                + (wide ? [ListColumn(title: "DATA", width: 12, alignRight: false), ListColumn(title: metric, width: 6, alignRight: true)] : [])
        }
        func cells(_ m: TriageModel, width: Int) -> [(String, RGB?)] {
            [(RunLabel.fitting(m.id, width: width - (width >= 64 ? 36 : 16)), nil), (m.status, nil),
             (m.dataset, m.mismatch == nil ? nil : theme.error), (m.metric.map { String(format: "%.3f", $0) } ?? "-", nil)]
        }
        let segmenterWidth = rect.width - half
        drawList(into: &buffer, rect: Rect(x: rect.x, y: rect.y, width: half, height: listHeight), title: "Classifier run",
                 columns: columns(half, metric: "ACC"), state: &classifierCursor, focused: !pickingSegmenter, style: style) {
            cells(cs[$0], width: half)
        }
        drawList(into: &buffer, rect: Rect(x: rect.x + half, y: rect.y, width: segmenterWidth, height: listHeight), title: "Segmenter run",
                 columns: columns(segmenterWidth, metric: "DICE"), state: &segmenterCursor, focused: pickingSegmenter, style: style) {
            cells(ss[$0], width: segmenterWidth)
        }
        let hint = classifiers.isEmpty || segmenters.isEmpty
            ? "Triage needs a classifier run and a segmenter run: train them from the dashboard (D) or with glia train."
            : "Pick the model pair: Tab switches list, j/k move, Enter starts triage, Esc back to the browser."
        buffer.text(hint, x: rect.x + 1, y: rect.y + listHeight + 1, maxWidth: rect.width - 2,
                    foreground: classifiers.isEmpty || segmenters.isEmpty ? theme.accent : theme.muted, background: theme.background)
    }

    private mutating func drawSlice(into buffer: inout CellBuffer, rect: Rect, style: PaneStyle, source: any SliceSource, showUnflagged: Bool) {
        guard let session, let key = session.current else {
            let empty = session?.queueOnly == true ? "the queue is empty so far (it fills as predictions arrive; v shows every slice)"
                : "the dataset has no slices"
            viewer.draw(into: &buffer, rect: rect, focused: true, style: style, slice: nil, sliceID: "", caption: "Triage", message: empty)
            return
        }
        let caption = "\(key.patient)  slice \(key.slice)  (\(session.index + 1)/\(session.order.count))"
        switch slices.slice(patient: key.patient, number: key.slice, from: source) {
        case .failure(let error):
            viewer.draw(into: &buffer, rect: rect, focused: true, style: style, slice: nil, sliceID: "", caption: caption,
                        message: "cannot show this slice: \(error.description)")
        case .success(var loaded):
            let overlay = PredictionOverlay.of(cache?.prediction(for: key), width: loaded.image.width, height: loaded.image.height,
                                               showUnflagged: showUnflagged)
            loaded.prediction = overlay?.mask
            let id = SliceCache.key(patient: key.patient, slice: key.slice) + (overlay?.cacheSuffix ?? "")
            viewer.draw(into: &buffer, rect: rect, focused: true, style: overlay?.style(style) ?? style, slice: loaded, sliceID: id,
                        caption: caption + (overlay?.captionNote ?? ""), message: nil)
        }
    }
}
