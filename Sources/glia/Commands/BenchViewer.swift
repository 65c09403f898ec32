// glia bench viewer: time of a full viewer redraw at 200x60 against the 10 ms goal, and per graphics
// mode the time to build and encode a frame and the bytes it sends.
import ArgumentParser
import Foundation
import GliaData
import GliaTUI

struct BenchViewer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "viewer",
        abstract: "Full workstation redraw at 200x60 (render + frame + diff) against the 10 ms goal.",
        discussion: """
            Each full redraw steps to another slice (so the slice is resampled again), builds the whole \
            frame and presents it to a screen that was invalidated (every cell written): an in-memory \
            screen, then ncurses writing to /dev/null with 256 and 24-bit colours. The baseline is a frame \
            whose image is cached. Slices come from the phantom generator in memory (no disk time); one \
            row times decoding a slice and its mask from TIFF, the extra cost of a cache miss. The second \
            table does the full redraw in every graphics mode through ncurses (xterm-256color) into a \
            file: frame (layout and rendering), send (cells and image escapes encoded and written), \
            bytes per full redraw, and bytes when the focus moves to the patient list (borders and hints \
            change, the image is not re-sent).
            """)

    @Option(help: "Timed repetitions per row.")
    var repetitions = 200

    func run() async throws {
        let reps = max(5, repetitions)
        try await MainActor.run {
            let source = Self.phantomSource()
            let first = source.patients[0]
            let slice = try source.load(patient: first.id, slice: first.slices[0].number)
            let renderer = Self.time(reps) {
                _ = SliceRenderer.render(image: slice.image, truth: slice.truth, prediction: nil, options: RenderOptions(),
                                         columns: 118, rows: 56)
            }
            // A cache miss: one slice and its mask decoded from deflate TIFFs (what stepping costs
            // when the idle-time prefetch has not run yet).
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glia-bench-viewer-\(getpid())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let imageURL = folder.appendingPathComponent("slice.tif"), maskURL = folder.appendingPathComponent("slice_mask.tif")
            try TIFFImage.write(slice.image, to: imageURL)
            if let truth = slice.truth { try TIFFImage.write(truth, to: maskURL) }
            let decode = try Self.time(reps) {
                _ = try TIFFImage.readImage(imageURL)
                _ = try TIFFImage.readMask(maskURL)
            }
            let memory = MemoryScreen(columns: 200, rows: 60)
            let (cached, full) = try Self.redraws(on: memory, source: source, repetitions: reps)
            var rows: [(String, [Double])] = [
                ("baseline: frame with the image cached", cached),
                ("slice renderer alone (118x56 cells)", renderer),
                ("decode slice + mask from TIFF (cache miss)", decode),
                ("full redraw, in-memory screen", full),
            ]
            // The same through ncurses, its output to /dev/null: pair allocation and escape codes included.
            for (term, colorterm) in [("xterm-256color", ""), ("xterm-direct", "truecolor")] {
                guard let curses = try? CursesScreen.offscreen(columns: 200, rows: 60, term: term,
                                                                environment: ["COLORTERM": colorterm]) else {
                    print("(\(term) terminfo not installed: its row is skipped)")
                    continue
                }
                let (_, cursesFull) = try Self.redraws(on: curses, source: source, repetitions: reps)
                curses.close()
                rows.append(("full redraw, ncurses \(term)", cursesFull))
            }
            let modes = try GraphicsMode.allCases.map { try Self.modeRow($0, source: source, repetitions: reps, folder: folder) }
            print("glia bench viewer: 200x60 cells, \(reps) repetitions (shared 2-core machine: medians are the figures to read)")
            print("")
            print(Self.row("case", "median ms", "p95 ms", "goal"))
            for (name, values) in rows {
                let median = Self.percentile(values, 0.5)
                let goal = name.hasPrefix("full redraw") ? (median < 10 ? "< 10 ms: met" : "< 10 ms: MISSED") : ""
                print(Self.row(name, Self.ms(median), Self.ms(Self.percentile(values, 0.95)), goal))
            }
            print("")
            print("per graphics mode, full redraw at 200x60 (cell size 10x20 px), medians:")
            print(Self.modeLine(["mode", "frame ms", "send ms", "total ms", "goal", "bytes/redraw", "bytes, image kept"]))
            for m in modes {
                let total = m.frame + m.send
                let cells: [String] = [m.mode.rawValue, Self.ms(m.frame), Self.ms(m.send), Self.ms(total), total < 10 ? "met" : "MISSED",
                                       String(m.bytes), String(m.unchangedBytes)]
                print(Self.modeLine(cells))
            }
        }
    }

    /// Times `body` `repetitions` times after 5 warm-up calls; milliseconds.
    @MainActor private static func time(_ repetitions: Int, _ body: () throws -> Void) rethrows -> [Double] {
        var result: [Double] = []
        for i in 0..<(repetitions + 5) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            let t1 = DispatchTime.now().uptimeNanoseconds
            if i >= 5 { result.append(Double(t1 - t0) / 1e6) }
        }
        return result
    }

    /// One mode's row: medians of frame and send times, bytes of a full redraw and of a redraw
    /// whose image is already on the terminal.
    @MainActor private static func modeRow(_ mode: GraphicsMode, source: MemorySliceSource, repetitions: Int, folder: URL) throws
        -> (mode: GraphicsMode, frame: Double, send: Double, bytes: Int, unchangedBytes: Int) {
        let path = folder.appendingPathComponent("out-\(mode.rawValue)").path
        let screen = try CursesScreen.offscreen(columns: 200, rows: 60, term: "xterm-256color", environment: [:], outputPath: path)
        defer { screen.close() }
        screen.enableImages(tmux: false)
        let support = GraphicsSupport(pixelModes: mode.isPixel ? [mode] : [], mode: mode, cellSize: .guess)
        let app = App(screen: screen, source: source, theme: .dark, themeDirectories: [], graphics: support)
        app.handle(.key(.tab))
        app.handle(.key(.tab))
        var frames: [Double] = [], sends: [Double] = [], bytes: [Int] = []
        for i in 0..<(repetitions + 5) {
            app.handle(.key(i % 2 == 0 ? .character("p") : .character("n")))
            screen.invalidate()
            let t0 = DispatchTime.now().uptimeNanoseconds
            let frame = app.frame()
            let t1 = DispatchTime.now().uptimeNanoseconds
            let before = screen.bytesWritten
            screen.present(frame, images: app.images)
            let t2 = DispatchTime.now().uptimeNanoseconds
            guard i >= 5 else { continue }
            frames.append(Double(t1 - t0) / 1e6)
            sends.append(Double(t2 - t1) / 1e6)
            bytes.append(screen.bytesWritten - before)
        }
        // The keyboard moves to the patient list: borders and hints change, the image stays, so
        // only the changed cells go out.
        app.handle(.key(.tab))
        let before = screen.bytesWritten
        screen.present(app.frame(), images: app.images)
        let unchanged = screen.bytesWritten - before
        let medianBytes = bytes.sorted()[bytes.count / 2]
        return (mode, percentile(frames, 0.5), percentile(sends, 0.5), medianBytes, unchanged)
    }

    /// (frame with a cached image, full redraw of a new slice) on `screen`, viewer focused.
    @MainActor private static func redraws(on screen: any Screen, source: MemorySliceSource, repetitions: Int) throws
        -> ([Double], [Double]) {
        let app = App(screen: screen, source: source, theme: .dark, themeDirectories: [])
        app.handle(.key(.tab))
        app.handle(.key(.tab))  // the viewer has the keyboard, as while stepping through a volume
        guard app.focus == .viewer else { throw ValidationError("bench: the viewer did not take focus") }
        var step = 0
        let full = time(repetitions) {
            step += 1
            app.handle(.key(step % 2 == 0 ? .character("p") : .character("n")))  // another slice: resampled again
            screen.invalidate()                                                  // every cell written
            screen.present(app.frame(), images: app.images)
        }
        let cached = time(repetitions) {
            app.handle(.key(.character("?")))  // help on and off: the image stays cached, the frame is rebuilt
            app.handle(.key(.escape))
            screen.present(app.frame(), images: app.images)
        }
        return (cached, full)
    }

    /// Two phantom patients held in memory.
    @MainActor private static func phantomSource() -> MemorySliceSource {
        var configuration = Phantom.Configuration.default
        configuration.patients = 2
        var patients: [PatientSummary] = []
        var slices: [String: LoadedSlice] = [:]
        for p in 0..<configuration.patients {
            let id = Phantom.patientID(p)
            let rendered = Phantom.render(patient: p, configuration: configuration)
            var rows: [SliceSummary] = []
            for (n, (image, mask)) in rendered.enumerated() {
                rows.append(SliceSummary(number: n + 1, tumorArea: mask.area))
                slices["\(id)#\(n + 1)"] = LoadedSlice(image: image, truth: mask)
            }
            patients.append(PatientSummary(id: id, institution: Phantom.institutions[p % Phantom.institutions.count], slices: rows))
        }
        return MemorySliceSource(title: "phantom (memory)", patients: patients, slices: slices)
    }

    private static func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * q))]
    }

    /// A row of the per-mode table: the mode's name, then right-aligned columns.
    private static func modeLine(_ cells: [String]) -> String {
        var line = cells[0].padding(toLength: 12, withPad: " ", startingAt: 0)
        for cell in cells.dropFirst() { line += cell.leftPadded(18) }
        return line
    }

    private static func ms(_ v: Double) -> String { String(format: "%.3f", v) }

    private static func row(_ a: String, _ b: String, _ c: String, _ d: String) -> String {
        a.padding(toLength: 44, withPad: " ", startingAt: 0) + b.leftPadded(11) + c.leftPadded(10) + "  " + d
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
