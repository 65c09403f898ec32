// glia bench viewer: time of a full viewer redraw at 200x60 against the 10 ms goal.
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
            frame and presents it to an in-memory screen that was invalidated (every cell written). The \
            baseline is the same frame when only the status bar changes (render cache hit). Slices come \
            from the phantom generator in memory, so no disk time is included.
            """)

    @Option(help: "Timed repetitions per row.")
    var repetitions = 200

    func run() async throws {
        let reps = max(5, repetitions)
        try await MainActor.run {
            let source = Self.phantomSource()
            let screen = MemoryScreen(columns: 200, rows: 60)
            let app = App(screen: screen, source: source, theme: .dark, themeDirectories: [])
            app.handle(.key(.tab))
            app.handle(.key(.tab))  // viewer focused, as while stepping through a volume
            guard app.focus == .viewer else { throw ValidationError("bench: the viewer did not take focus") }
            let first = source.patients[0]
            let slice = try source.load(patient: first.id, slice: first.slices[0].number)
            var renderer: [Double] = [], full: [Double] = [], cached: [Double] = []
            var step = 0
            for i in 0..<(reps + 5) {
                step += 1
                let key: Key = step % 2 == 0 ? .character("p") : .character("n")
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = SliceRenderer.render(image: slice.image, truth: slice.truth, prediction: nil, options: RenderOptions(), columns: 130, rows: 56)
                let t1 = DispatchTime.now().uptimeNanoseconds
                app.handle(.key(key))
                screen.invalidate()
                screen.present(app.frame())
                let t2 = DispatchTime.now().uptimeNanoseconds
                app.handle(.key(.character("j")))  // moves nothing visible in the image: cache hit
                app.handle(.key(.character("k")))
                screen.present(app.frame())
                let t3 = DispatchTime.now().uptimeNanoseconds
                guard i >= 5 else { continue }  // warm-up
                renderer.append(Double(t1 - t0) / 1e6)
                full.append(Double(t2 - t1) / 1e6)
                cached.append(Double(t3 - t2) / 1e6)
            }
            print("glia bench viewer: 200x60 cells, \(reps) repetitions (shared 2-core machine: medians are the figures to read)")
            print("")
            print(Self.row("case", "median ms", "p95 ms", "goal"))
            print(Self.row("baseline: frame, image cached", Self.ms(Self.percentile(cached, 0.5)), Self.ms(Self.percentile(cached, 0.95)), ""))
            print(Self.row("slice renderer alone (130x56)", Self.ms(Self.percentile(renderer, 0.5)), Self.ms(Self.percentile(renderer, 0.95)), ""))
            let median = Self.percentile(full, 0.5)
            print(Self.row("full redraw (new slice, all cells)", Self.ms(median), Self.ms(Self.percentile(full, 0.95)),
                           median < 10 ? "< 10 ms: met" : "< 10 ms: MISSED"))
        }
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

    private static func ms(_ v: Double) -> String { String(format: "%.3f", v) }

    private static func row(_ a: String, _ b: String, _ c: String, _ d: String) -> String {
        a.padding(toLength: 38, withPad: " ", startingAt: 0) + b.leftPadded(11) + c.leftPadded(10) + "  " + d
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
