// DirectConvolution: stride-1 convolutions with few output channels, computed straight from the NHWC
// input by the vector kernels of CKernels (AVX-512 or AVX2 + FMA, chosen at run time; Swift itself is
// built for baseline x86-64, which has neither).
//
// Why: with Cout = 16 (the ResUNet's 256x256 layers) im2col's GEMM has N = 16, and OpenBLAS runs so
// thin a product at a fraction of its speed while im2col copies nine times the input. The direct
// kernel keeps a tile of output pixels x output channels in registers for the whole k·k·Cin sum
// (CKernels/DirectConvolutionKernel.h), so it reads the input once per tile and copies nothing.
//
// Layout: x [N, H, W, Cin], weights OHWI [Cout, k, k, Cin] as Conv2D keeps them, repacked per call to
// HWIO [k, k, Cin, Cout] (output channels contiguous, one vector per step: at most 32·9·Cin floats);
// y [N, Ho, Wo, Cout]. Workers take runs of output image rows (N·Ho of them).

import CKernels

/// Whether, and how, a convolution runs as a direct convolution.
enum DirectConvolution {
    /// The widest vector, in floats, of the kernels this CPU runs: 16 (AVX-512), 8 (AVX2 + FMA), 0.
    static let widest = Int(glia_direct_convolution_widest())

    /// Every new convolution's `directVectorWidth`: the widest, unless the environment says
    /// `GLIA_DIRECT_CONVOLUTION=avx2` (8: the AVX2 kernels on an AVX-512 host) or `=off` (0: im2col).
    static let processWidth: Int = {
        switch getenvString("GLIA_DIRECT_CONVOLUTION") {
        case "off": return 0
        case "avx2": return usableWidth(8)
        default: return widest
        }
    }()

    /// The kernels' width for a `requested` one: 16 or 8 where the CPU runs it, else the next
    /// narrower it runs, else 0.
    static func usableWidth(_ requested: Int) -> Int {
        if requested >= 16 && widest >= 16 { return 16 }
        return requested >= 8 && widest >= 8 ? 8 : 0
    }

    /// Most output channels run directly: from 64 on, GEMM's wider panels win.
    static let maximumOutputs = 32

    /// Output image rows per kernel call before the output pass runs over them, while in cache.
    static let rowsPerPass = 4

    /// True where `g` with `outputs` channels runs directly with vectors of `width` floats (a
    /// `usableWidth`, not 0): stride 1,
    /// output channels a multiple of the width and at most `maximumOutputs`.
    static func applies(to g: ConvGeometry, outputs: Int, width: Int) -> Bool {
        width > 0 && g.stride == 1 && outputs % width == 0 && outputs <= maximumOutputs
    }

    /// y = conv(x, weights) then `pass`, for `weights` OHWI `[outputs, k, k, Cin]`; `width` as in
    /// `applies`, which must hold.
    static func convolve(_ x: UnsafePointer<Float>, _ g: ConvGeometry, weights: UnsafePointer<Float>,
                         outputs nOut: Int, pass: OutputPass, width: Int) -> Tensor {
        precondition(applies(to: g, outputs: nOut, width: width), "direct convolution does not apply to \(g)")
        let patch = g.patch
        let filters = [Float](unsafeUninitializedCapacity: patch * nOut) { buffer, count in
            for co in 0..<nOut { for i in 0..<patch { buffer[i * nOut + co] = weights[co * patch + i] } }
            count = patch * nOut
        }
        let imageRows = g.batch * g.outHeight, rowFloats = g.outWidth * nOut
        return filters.withUnsafeBufferPointer { fp in
            Tensor(shape: [g.batch, g.outHeight, g.outWidth, nOut], fillingUninitialized: { y in
                parallelFor(imageRows, minimumChunk: 1) { range in
                    var r0 = range.lowerBound
                    while r0 < range.upperBound {
                        let count = min(Self.rowsPerPass, range.upperBound - r0)
                        glia_direct_convolution(Int32(width), x, g.height, g.width, g.channels, g.kernel,
                                                g.padding, fp.baseAddress!, nOut, y, r0, count)
                        pass.apply(to: y + r0 * rowFloats, firstRow: r0 * g.outWidth,
                                   rows: count * g.outWidth, width: nOut)
                        r0 += count
                    }
                }
            })
        }
    }
}
