// glia bench data: indexing time and decode + augment throughput on one core, each next to a
// baseline measured in the same run (listing the folders; decoding without augmenting).
import ArgumentParser
import Foundation
import GliaCore
import GliaData

struct BenchData: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Index time and decode + augment slices/s (one core) against in-run baselines.",
        discussion: "Uses --data, else $GLIA_SAMPLE_DATA, else the phantom dataset. Timings are medians.")

    @Option(help: "Dataset folder (kaggle_3m layout) or seed CSV.")
    var data: String?

    @Option(help: "Repetitions per measurement (the median is reported).")
    var repeats = 5

    @Option(help: "Slices decoded per throughput repetition.")
    var slices = 300

    func run() async throws {
        let path: URL
        if let data {
            path = URL(fileURLWithPath: data)
        } else if let env = ProcessInfo.processInfo.environment["GLIA_SAMPLE_DATA"], !env.isEmpty {
            path = URL(fileURLWithPath: env)
        } else {
            path = try Phantom.ensureDefaultDataset()
        }
        print("dataset: \(path.path)")
        var index = try DatasetIndex.load(path)
        let listing = timed(repeats) {
            let fm = FileManager.default
            for folder in (try? fm.contentsOfDirectory(atPath: path.path)) ?? [] {
                _ = try? fm.contentsOfDirectory(atPath: path.appendingPathComponent(folder).path)
            }
        }
        let indexing = timed(repeats) { index = (try? DatasetIndex.load(path)) ?? index }
        let scan = timed(repeats) { _ = (try? DatasetIndex.load(path))?.maskScan() } - indexing
        let records = Array(index.usableSlices.prefix(slices))
        guard !records.isEmpty else { throw ValidationError("no usable slices in \(path.path)") }

        var rng = RandomGenerator(seed: 1)
        var sink = [Float](repeating: 0, count: 256 * 256 * 3)
        let decodeOnly = timed(repeats) {
            for r in records {
                _ = try? TIFFImage.readImage(r.imageURL)
                _ = try? TIFFImage.readMask(r.maskURL!)
            }
        }
        let decoded = records.compactMap { r -> (SliceImage, SliceMask)? in
            guard let i = try? TIFFImage.readImage(r.imageURL).value, let m = try? TIFFImage.readMask(r.maskURL!).value else { return nil }
            return (i, m)
        }
        let augmentOnly = timed(repeats) {
            for (image, mask) in decoded {
                let (a, _) = Augmentation.apply(.draw(.standard, using: &rng), image: image, mask: mask)
                sink.withUnsafeMutableBufferPointer { Normalization.unitRange.write(a, into: $0) }
            }
        }
        let full = timed(repeats) {
            for r in records {
                guard let image = try? TIFFImage.readImage(r.imageURL).value,
                      let mask = try? TIFFImage.readMask(r.maskURL!).value else { continue }
                let (a, _) = Augmentation.apply(.draw(.standard, using: &rng), image: image, mask: mask)
                sink.withUnsafeMutableBufferPointer { Normalization.unitRange.write(a, into: $0) }
            }
        }
        let n = Double(records.count)
        print("\(index.patients.count) patients, \(index.slices.count) slices; throughput over \(records.count) slices on one thread")
        print("medians of \(repeats) runs; wall = elapsed, cpu = this thread's CPU time (steadier on a shared machine)\n")
        print("measurement                               wall ms    cpu ms    slices/s (cpu)")
        print(row("baseline: list folders", listing))
        print(row("index (entries + TIFF headers)", indexing) + "    goal < 500 ms wall")
        print(row("mask scan (all masks, parallel)", scan))
        print(row("baseline: decode image + mask", decodeOnly, n))
        print(row("augment + normalise (decoded)", augmentOnly, n))
        print(row("decode + augment + normalise", full, n) + "  goal 1000")
    }

    /// Wall and thread-CPU seconds.
    private struct Timing {
        var wall: Double
        var cpu: Double
        static func - (a: Timing, b: Timing) -> Timing { Timing(wall: a.wall - b.wall, cpu: a.cpu - b.cpu) }
    }

    private func row(_ name: String, _ t: Timing, _ count: Double? = nil) -> String {
        name.padding(toLength: 40, withPad: " ", startingAt: 0)
            + String(format: "%8.1f  %8.1f", t.wall * 1000, t.cpu * 1000)
            + (count.map { String(format: "    %8.0f", $0 / t.cpu) } ?? "")
    }

    private func timed(_ n: Int, _ body: () -> Void) -> Timing {
        var walls: [Double] = [], cpus: [Double] = []
        for _ in 0..<max(1, n) {
            let wall = DispatchTime.now().uptimeNanoseconds
            let cpu = threadCPUSeconds()
            body()
            cpus.append(threadCPUSeconds() - cpu)
            walls.append(Double(DispatchTime.now().uptimeNanoseconds - wall) / 1e9)
        }
        return Timing(wall: walls.sorted()[walls.count / 2], cpu: cpus.sorted()[cpus.count / 2])
    }

    private func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
