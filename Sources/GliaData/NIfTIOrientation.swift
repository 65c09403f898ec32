// NIfTIOrientation: which way a volume's voxel axes point in the patient, and turning a volume to the
// orientation Glia's slices use, so that a volume stored in any axis order or direction shows the
// same slices.
//
// NIfTI's world axes are RAS+: x grows towards the patient's Right, y Anterior, z Superior. A voxel
// axis points along the world axis its affine column leans on most: the (voxel axis, world axis)
// pairs are taken greedily by the largest |entry| of the column-normalised 3x3 part, so an oblique
// volume gets its nearest axes (its voxels are permuted and flipped, never resampled). Directions are
// written as nibabel's axis codes: "LPS" means i runs to the patient's Left, j Posterior, k Superior.
//
// Glia's slices are radiological axial ones, as `glia export nifti` writes them: image columns run from
// the patient's right to left (i -> L), rows from anterior to posterior (j -> P), slice numbers upwards
// (k -> S), so Glia's orientation is LPS; BraTS volumes are stored so too. Reorienting permutes and
// flips the voxel array and rewrites the affine so that every voxel keeps its world position.
import Foundation

/// A direction in the patient (the positive end of a voxel axis).
public enum PatientDirection: Character, Sendable, CaseIterable {
    case right = "R", left = "L", anterior = "A", posterior = "P", superior = "S", inferior = "I"

    /// The world axis (0 x, 1 y, 2 z) and the sign of the direction along it (RAS+ positive).
    var worldAxis: (axis: Int, sign: Int) {
        switch self {
        case .right: (0, 1)
        case .left: (0, -1)
        case .anterior: (1, 1)
        case .posterior: (1, -1)
        case .superior: (2, 1)
        case .inferior: (2, -1)
        }
    }

    init(axis: Int, sign: Int) {
        self = [[PatientDirection.left, .right], [.posterior, .anterior], [.inferior, .superior]][axis][sign > 0 ? 1 : 0]
    }
}

/// The patient direction of each voxel axis i, j, k.
public struct NIfTIOrientation: Sendable, Equatable, CustomStringConvertible {
    /// Directions of i, j, k.
    public var directions: [PatientDirection]

    /// Glia's slices: i -> patient left, j -> posterior, k -> superior.
    public static let glia = NIfTIOrientation(directions: [.left, .posterior, .superior])

    public init(directions: [PatientDirection]) {
        precondition(directions.count == 3 && Set(directions.map { $0.worldAxis.axis }).count == 3,
                     "orientation \(directions) must name each world axis once")
        self.directions = directions
    }

    /// The orientation of a voxel-to-world affine (row-major 4x4) that passed `check`.
    public init(affine: [Double]) {
        // Column-normalised 3x3 part: entry (world r, voxel c).
        var m = [[Double]](repeating: [0, 0, 0], count: 3)
        for c in 0..<3 {
            let norm = (0..<3).map { affine[$0 * 4 + c] * affine[$0 * 4 + c] }.reduce(0, +).squareRoot()
            for r in 0..<3 { m[r][c] = affine[r * 4 + c] / norm }
        }
        var directions = [PatientDirection](repeating: .right, count: 3)
        var freeVoxel = Set(0..<3), freeWorld = Set(0..<3)
        for _ in 0..<3 {
            var best: (r: Int, c: Int, v: Double)?
            for r in freeWorld.sorted() { for c in freeVoxel.sorted() where best == nil || abs(m[r][c]) > abs(best!.v) {
                best = (r, c, m[r][c])
            } }
            let pick = best!
            directions[pick.c] = PatientDirection(axis: pick.r, sign: pick.v >= 0 ? 1 : -1)
            freeVoxel.remove(pick.c)
            freeWorld.remove(pick.r)
        }
        self.init(directions: directions)
    }

    /// Axis codes, e.g. "LPS".
    public var description: String { String(directions.map(\.rawValue)) }

    /// Refuses an affine (from the header's `source`) that is not finite or whose 3x3 part is not
    /// invertible, in one line naming the file.
    static func check(affine: [Double], from source: NIfTIVolume.AffineSource, of url: URL) throws {
        let field = source == .qform ? "qform (quatern_b/c/d, qoffset, pixdim)" : "sform (srow_x/y/z)"
        guard affine.count == 16, affine.allSatisfy(\.isFinite) else {
            throw NIfTIError(url, "the \(field) holds a NaN or infinity: the voxels have no position")
        }
        let a = { (r: Int, c: Int) in affine[r * 4 + c] }
        let det = a(0, 0) * (a(1, 1) * a(2, 2) - a(1, 2) * a(2, 1))
            - a(0, 1) * (a(1, 0) * a(2, 2) - a(1, 2) * a(2, 0))
            + a(0, 2) * (a(1, 0) * a(2, 1) - a(1, 1) * a(2, 0))
        let scale = (0..<3).map { c in (0..<3).map { a($0, c) * a($0, c) }.reduce(0, +).squareRoot() }.reduce(1, *)
        // Relative to the columns' lengths, so a tiny voxel size is not mistaken for a singular matrix.
        guard scale > 0, abs(det) > 1e-6 * scale else {
            throw NIfTIError(url, "the \(field) is not invertible (its 3x3 part has determinant \(det)): voxel axes collapse onto each other")
        }
    }
}

extension NIfTIVolume {
    /// The orientation of the voxel axes; nil when the file states none (no sform or qform).
    public var orientation: NIfTIOrientation? {
        affineSource == .spacingOnly ? nil : NIfTIOrientation(affine: affine)
    }

    /// The volume with its voxel axes turned to `target` (Glia's slices by default): voxels permuted
    /// and flipped, dimensions and spacing permuted, the affine rewritten so that each voxel keeps its
    /// world position. A volume without a stated orientation comes back as it is.
    public func reoriented(to target: NIfTIOrientation = .glia) -> NIfTIVolume {
        guard let current = orientation, current != target else { return self }
        // For each new axis: the old axis along the same world axis, and whether it runs the other way.
        let source: [(axis: Int, flip: Bool)] = target.directions.map { direction in
            let old = current.directions.firstIndex { $0.worldAxis.axis == direction.worldAxis.axis }!
            return (old, current.directions[old] != direction)
        }
        let newDims = source.map { dimensions[$0.axis] }
        let oldStrides = [1, dimensions[0], dimensions[0] * dimensions[1]]
        var voxels = [Float](repeating: 0, count: self.voxels.count)
        var n = 0
        for k in 0..<newDims[2] { for j in 0..<newDims[1] { for i in 0..<newDims[0] {
            var offset = 0
            for (a, index) in [i, j, k].enumerated() {
                let (old, flip) = source[a]
                offset += (flip ? dimensions[old] - 1 - index : index) * oldStrides[old]
            }
            voxels[n] = self.voxels[offset]
            n += 1
        } } }
        // world = A_old [old index; 1] and old index = T [new index; 1], so A_new = A_old T.
        var t = [Double](repeating: 0, count: 16)
        t[15] = 1
        for (a, (old, flip)) in source.enumerated() {
            t[old * 4 + a] = flip ? -1 : 1
            t[old * 4 + 3] = flip ? Double(dimensions[old] - 1) : 0
        }
        var newAffine = [Double](repeating: 0, count: 16)
        for r in 0..<4 { for c in 0..<4 { newAffine[r * 4 + c] = (0..<4).map { affine[r * 4 + $0] * t[$0 * 4 + c] }.reduce(0, +) } }
        return NIfTIVolume(dimensions: newDims, spacing: source.map { spacing[$0.axis] }, affine: newAffine,
                           dataType: dataType, voxels: voxels, affineSource: affineSource)
    }
}
