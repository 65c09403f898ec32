// Hostile TIFF headers (issue 14 item 3): sizes read from a file are checked before allocating.
import Foundation
import GliaData
import XCTest

final class TIFFFaultTests: XCTestCase {
    private var files: FaultFiles!

    override func setUpWithError() throws { files = try FaultFiles.make() }
    override func tearDown() { files?.remove() }

    func testTilesFarLargerThanTheImageAreRefused() throws {
        let url = try files.tiledTIFF("tiles.tif", width: 16, height: 16, tileWidth: 32768, tileHeight: 32768)
        XCTAssertLessThan(try Data(contentsOf: url).count, 200)
        XCTAssertThrowsError(try TIFFImage.readImage(url)) { error in
            XCTAssertTrue("\(error)".contains(url.path) && "\(error)".contains("tile size 32768x32768 exceeds the 16x16 image"),
                          "\(error)")
        }
        let fitting = try files.tiledTIFF("fits.tif", width: 4, height: 2, tileWidth: 16, tileHeight: 16)
        XCTAssertThrowsError(try TIFFImage.readImage(fitting)) { error in
            XCTAssertFalse("\(error)".contains("exceeds"), "a 16x16 tile fits a 4x2 image: \(error)")
        }
    }
}
