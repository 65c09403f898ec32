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
        let listing = median(repeats) {
            let fm = FileManager.default
            for folder in (try? fm.contentsOfDirectory(atPath: path.path)) ?? [] {
                _ = try? fm.contentsOfDirectory(atPath: path.appendingPathComponent(folder).path)
            }
        }
        let indexing = median(repeats) { index = (try? DatasetIndex.load(path)) ?? index }
        let scan = median(repeats) { _ = (try? DatasetIndex.load(path))?.maskScan() } - indexing
        let records = Array(index.usableSlices.prefix(slices))
        guard !records.isEmpty else { throw ValidationError("no usable slices in \(path.path)") }

        var rng = RandomGenerator(seed: 1)
        var sink = [Float](repeating: 0, count: 256 * 256 * 3)
        let decodeOnly = median(repeats) {
            for r in records {
                _ = try? TIFFImage.readImage(r.imageURL)
                _ = try? TIFFImage.readMask(r.maskURL!)
            }
        }
        let full = median(repeats) {
            for r in records {
                guard let image = try? TIFFImage.readImage(r.imageURL).value,
                      let mask = try? TIFFImage.readMask(r.maskURL!).value else { continue }
                let (a, _) = Augmentation.apply(.draw(.standard, using: &rng), image: image, mask: mask)
                sink.withUnsafeMutableBufferPointer { Normalization.unitRange.write(a, into: $0) }
            }
        }
        let n = Double(records.count)
        print("\(index.patients.count) patients, \(index.slices.count) slices; throughput over \(records.count) slices, one thread")
        print("medians of \(repeats) runs; the machine is shared, so expect noise\n")
        print("measurement                               time          rate")
        print(row("baseline: list folders", listing, nil))
        print(row("index (entries + TIFF headers)", indexing, "goal < 500 ms"))
        print(row("mask scan (all masks, parallel)", scan, nil))
        print(row("baseline: decode image + mask", decodeOnly, String(format: "%.0f slices/s", n / decodeOnly)))
        print(row("decode + augment + normalise", full, String(format: "%.0f slices/s (goal 1000)", n / full)))
    }

    private func row(_ name: String, _ seconds: Double, _ note: String?) -> String {
        name.padding(toLength: 40, withPad: " ", startingAt: 0)
            + String(format: "%9.1f ms", seconds * 1000) + (note.map { "    " + $0 } ?? "")
    }

    private func median(_ n: Int, _ body: () -> Void) -> Double {
        var times: [Double] = []
        for _ in 0..<max(1, n) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }
}
