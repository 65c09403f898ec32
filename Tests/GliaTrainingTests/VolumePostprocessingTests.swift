import GliaTraining
import XCTest

/// Largest 3-D connected component with 6-connectivity (scipy.ndimage.label's default structure).
final class VolumePostprocessingTests: XCTestCase {
    /// Masks from rows of characters ('#' foreground), one string per slice row.
    private func slice(_ rows: [String]) -> [UInt8] {
        rows.flatMap { $0.map { $0 == "#" ? UInt8(1) : 0 } }
    }

    func testKeepsTheLargestComponentAcrossSlices() {
        // A: 4 voxels through slices 0-2 (column 1), never more than 2 on one slice. B: 2 voxels on
        // slice 2, touching A only diagonally. C: 3 voxels in one row of slice 0. Slice by slice, C would
        // be the largest; stacked, A is.
        let volume = [slice(["##..", "....", "###."]), slice([".#..", "....", "...."]), slice([".#..", "...#", "...#"])]
        let kept = VolumePostprocessing.largestComponent.apply(volume, width: 4)
        XCTAssertEqual(kept, [slice(["##..", "....", "...."]), slice([".#..", "....", "...."]),
                              slice([".#..", "....", "...."])])
    }

    func testDiagonalNeighboursAreSeparateComponents() {
        // Three voxels meeting only at edges or corners: 6-connectivity keeps one (the first in raster
        // order on a tie), where 26-connectivity would keep all three.
        let volume = [slice(["#.", ".#"]), slice(["..", "#."])]
        let kept = VolumePostprocessing.largestComponent.apply(volume, width: 2)
        XCTAssertEqual(kept, [slice(["#.", ".."]), slice(["..", ".."])])
        XCTAssertEqual(kept.joined().reduce(0) { $0 + Int($1) }, 1)
    }

    func testLargerLaterComponentWinsAndValuesBecomeOne() {
        let volume = [[7, 0, 0, 0, 0, 0], [0, 0, 0, 3, 3, 3]].map { $0.map(UInt8.init) }
        let kept = VolumePostprocessing.largestComponent.apply(volume, width: 3)
        XCTAssertEqual(kept, [[0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1]])
    }

    func testEmptyVolumesStayEmptyAndNoneChangesNothing() {
        let empty = [[UInt8]](repeating: [UInt8](repeating: 0, count: 9), count: 3)
        XCTAssertEqual(VolumePostprocessing.largestComponent.apply(empty, width: 3), empty)
        XCTAssertEqual(VolumePostprocessing.largestComponent.apply([], width: 3), [])
        let noisy = [slice(["#.#", "...", "#.#"])]
        XCTAssertEqual(VolumePostprocessing.none.apply(noisy, width: 3), noisy)
        XCTAssertEqual(VolumePostprocessing(rawValue: "largest-component"), .largestComponent)
    }
}
