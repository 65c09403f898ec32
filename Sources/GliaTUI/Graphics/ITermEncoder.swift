// iTerm2's inline images (iTerm2, WezTerm): `ESC ] 1337 ; File=inline=1;size=N;width=C;height=R;
// preserveAspectRatio=0 : <base64 of a PNG> BEL`, drawn at the cursor and scaled by the terminal to
// C x R cells (the raster already has the pane's aspect ratio, margins included).
import Foundation

/// Encodes rasters as iTerm2 inline images.
public enum ITermEncoder {
    /// The escape that draws `raster` over `columns x rows` cells from the cursor.
    public static func encode(_ raster: Raster, columns: Int, rows: Int) -> [UInt8] {
        let png = PNGWriter.encode(raster)
        let head = "\u{1B}]1337;File=inline=1;size=\(png.count);width=\(columns);height=\(rows);preserveAspectRatio=0:"
        return Array(head.utf8) + Array(Data(png).base64EncodedData()) + [0x07]
    }
}
