// One process per run (issue 14 item 9): a resume while the run trains, or two at once, is refused
// while the owner lives; the lock goes with its owner.
import Foundation
import GliaData
import GliaTraining
import XCTest

final class RunLockFaultTests: XCTestCase {
    private var files: FaultFiles!

    override func setUpWithError() throws { files = try FaultFiles.make() }
    override func tearDown() { files?.remove() }

    func testLockIsExclusiveAndGoesWithItsOwner() throws {
        let folder = files.folder
        var first: RunLock? = try RunLock(folder: folder, runID: "r", owner: "pid 1 on here")
        XCTAssertThrowsError(try RunLock(folder: folder, runID: "r", owner: "pid 1 on here")) { error in
            XCTAssertTrue("\(error)".contains("being trained by another process (pid 1 on here)"), "\(error)")
        }
        XCTAssertNotNil(first)
        first = nil
        XCTAssertNoThrow(try RunLock(folder: folder, runID: "r", owner: nil), "released with its owner")
    }

    func testResumeIsRefusedWhileTheRunIsLaunched() throws {
        let data = files.url("data")
        _ = try Phantom.write(to: data, configuration: .init(patients: 4, slices: 4...4, seed: 3, side: 256))
        let store = try RunStore(workspace: files.url("ws"))
        var c = RunConfiguration.defaults(for: .segmenter, dataPath: data.path)
        c.imageSize = 64
        c.batchSize = 2
        let run = try TrainingRun.start(c, store: store)
        XCTAssertThrowsError(try TrainingRun.resume(run.runID, store: store)) { error in
            XCTAssertTrue("\(error)".contains("being trained by another process"), "\(error)")
        }
    }
}
