// glia show: one slice drawn on standard output, masks overlaid: with a pixel protocol (kitty,
// sixel, iTerm2) when the terminal has one, else with sextants, quadrants, half blocks or ASCII.
import ArgumentParser
import Foundation
import GliaData
import GliaTUI

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a slice in the terminal (pixels or block characters), masks overlaid in colour.",
        discussion: """
            --graphics auto uses the pixel protocol the terminal is found to support (kitty, sixel or \
            iTerm2; inside tmux only with allow-passthrough on), else a text mode; output that is not a \
            terminal gets half blocks. Colours of text modes are 24-bit when COLORTERM is truecolor or \
            24bit, else 256-colour. The ground truth (--mask) is filled, the prediction (--pred) outlined; \
            --ascii prints a plain character ramp with o / x / X marking truth / prediction / both.
            """)

    @Argument(help: "The slice image (TIFF).")
    var image: String

    @Option(help: "Ground-truth mask (TIFF).")
    var mask: String?

    @Option(help: "Predicted mask (TIFF), e.g. from `glia predict` (which uses the shipped models unless told otherwise).")
    var pred: String?

    @Option(help: "Width in character cells (default: the terminal's, at most 128).")
    var width: Int?

    @Option(help: "Channel: pre, flair, post or rgb.")
    var channel = "flair"

    @Option(help: "Overlay style: fill or outline.")
    var overlay = "fill"

    @Flag(help: "Plain ASCII character ramp, no colour.")
    var ascii = false

    @OptionGroup var graphicsOptions: GraphicsOptions

    /// Widest rendering accepted: a cell is a few dozen bytes, and no terminal is wider.
    static let maximumWidth = 1000

    func validate() throws {
        if let width, !(8...Self.maximumWidth).contains(width) {
            throw ValidationError("--width must be in 8...\(Self.maximumWidth) character cells, got \(width)")
        }
    }

    func run() async throws {
        let channels: [String: ViewerChannel] = ["pre": .preContrast, "flair": .flair, "post": .postContrast, "rgb": .composite]
        guard let chosenChannel = channels[channel.lowercased()] else {
            throw ValidationError("--channel must be one of pre, flair, post, rgb (got '\(channel)')")
        }
        guard let style = ["fill": OverlayStyle.fill, "outline": .outline][overlay.lowercased()] else {
            throw ValidationError("--overlay must be fill or outline (got '\(overlay)')")
        }
        // Check every path before decoding any, so the first message names the first bad path.
        let imageURL = try UserPath.existing(image, as: .file)
        let maskURL = try mask.map { try UserPath.existing($0, as: .file) }
        let predURL = try pred.map { try UserPath.existing($0, as: .file) }
        let slice = try TIFFImage.readImage(imageURL).value
        let truth = try maskURL.map { try TIFFImage.readMask($0).value }
        let prediction = try predURL.map { try TIFFImage.readMask($0).value }

        // Without --width the slice fits the terminal: its width, and its height less the caption
        // and the prompt lines, so nothing scrolls off.
        let terminal = Self.terminalSize()
        var columns = max(8, width ?? min(128, terminal?.columns ?? 80))
        var rows = max(1, (columns * slice.height / max(1, slice.width) + 1) / 2)
        if width == nil, let terminal, rows > terminal.rows - 2 {
            rows = max(1, terminal.rows - 2)
            columns = max(8, min(columns, rows * 2 * slice.width / max(1, slice.height)))
        }
        var options = RenderOptions()
        options.channel = chosenChannel
        options.overlay = style
        let environment = ProcessInfo.processInfo.environment
        let support = ascii ? GraphicsSupport(pixelModes: [], mode: .ascii) : Self.support(graphicsOptions.request, environment: environment)
        options.graphics = support.mode
        if let note = support.note { FileHandle.standardError.write(Data("glia: \(note)\n".utf8)) }
        if support.mode.isPixel {
            FileHandle.standardOutput.write(Data(Self.pixels(slice, truth: truth, prediction: prediction, options: options,
                                                             columns: columns, rows: rows, support: support)))
        } else {
            let cells = SliceRenderer.render(image: slice, truth: truth, prediction: prediction, options: options,
                                             columns: columns, rows: rows)
            let mode = ascii ? ColorMode.none : ColorMode.fromEnvironment(environment)
            FileHandle.standardOutput.write(Data(AnsiEncoder.encode(cells, colorMode: mode).utf8))
        }
        var caption = ["\(imageURL.lastPathComponent)  \(slice.width)x\(slice.height)", "channel \(chosenChannel.label)"]
        if truth != nil { caption.append("truth \(ascii ? "o" : style == .fill ? "filled" : "outlined")") }
        if prediction != nil { caption.append("prediction \(ascii ? "x" : "outlined")") }
        FileHandle.standardOutput.write(Data((caption.joined(separator: "  ") + "\n").utf8))
    }

    /// The graphics to use: detected on a terminal, half blocks (or the mode named) into a pipe.
    private static func support(_ request: GraphicsRequest, environment: [String: String]) -> GraphicsSupport {
        guard isatty(1) == 1 else {
            if case .mode(let mode) = request { return GraphicsSupport(pixelModes: mode.isPixel ? [mode] : [], mode: mode) }
            return .textOnly
        }
        return GraphicsDetector.detect(request: request, environment: environment, glyphs: .unicode)
    }

    /// The image escape for `columns x rows` cells at the cursor: room is made first (the lines
    /// scroll up), the image drawn with the cursor saved, and the cursor left below it.
    private static func pixels(_ slice: SliceImage, truth: SliceMask?, prediction: SliceMask?, options: RenderOptions,
                               columns: Int, rows: Int, support: GraphicsSupport) -> [UInt8] {
        let raster = ViewerPane.pixelRaster(LoadedSlice(image: slice, truth: truth, prediction: prediction), options: options,
                                            columns: columns, rows: rows, cellSize: support.cellSize)
        let placement = ImagePlacement(rect: Rect(x: 0, y: 0, width: columns, height: rows), raster: raster, mode: options.graphics, key: "show",
                                       cellSize: support.cellSize)
        var bytes = Array(String(repeating: "\n", count: rows).utf8) + Array("\u{1B}[\(rows)A\r\u{1B}7".utf8)
        bytes += GraphicsWriter.image(placement, id: 1, tmux: support.tmux)
        bytes += Array("\u{1B}8\u{1B}[\(rows)B\r".utf8)
        return bytes
    }

    /// Size of the terminal on stdout, when stdout is one.
    private static func terminalSize() -> (columns: Int, rows: Int)? {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return nil }
        return (Int(size.ws_col), Int(size.ws_row))
    }
}

// Checks on paths the user typed (shared with the workstation), so each problem is one line naming the path.

/// A user-supplied path that is missing, unreadable or of the wrong kind.
struct UserPathError: Error, CustomStringConvertible {
    let path: String
    let message: String
    var description: String { "\(path): \(message)" }
}

enum UserPath {
    enum Kind { case file, folder, any }

    /// The URL of `path` after checking it exists, has the expected kind and is readable.
    static func existing(_ path: String, as kind: Kind) throws -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw UserPathError(path: path, message: "no such file or folder")
        }
        if kind == .file && isDirectory.boolValue { throw UserPathError(path: path, message: "is a folder, expected a file") }
        if kind == .folder && !isDirectory.boolValue { throw UserPathError(path: path, message: "is a file, expected a folder") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw UserPathError(path: path, message: "not readable (permission denied)")
        }
        return URL(fileURLWithPath: path)
    }
}
