// swift-tools-version: 6.0
//
// Glia: a terminal workstation for brain-MRI tumor work (LGG dataset).
// System libraries come from apt (see README): libncursesw5-dev, libtiff-dev, libopenblas-dev, libnifti2-dev.
import PackageDescription

let package = Package(
    name: "Glia",
    products: [
        .executable(name: "glia", targets: ["glia"]),
        .library(name: "GliaCore", targets: ["GliaCore"]),
        .library(name: "GliaData", targets: ["GliaData"]),
        .library(name: "GliaTraining", targets: ["GliaTraining"]),
        .library(name: "GliaTUI", targets: ["GliaTUI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
    ],
    targets: [
        // C bridges: a module map and a shim header each, nothing else.
        // ncursesw has no pkg-config entry SwiftPM can use (it drops the -D flags), so the shim sets them.
        .systemLibrary(name: "CNcursesw", providers: [.apt(["libncursesw5-dev"])]),
        .systemLibrary(name: "CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // nifti_clib (apt libnifti2-dev): a C target, not a system library, since its headers need a
        // search path that only a target's include/ folder can give (see Sources/CNIfTI/include/CNIfTI.h).
        .target(name: "CNIfTI", linkerSettings: [.linkedLibrary("nifti2"), .linkedLibrary("znz"), .linkedLibrary("z")]),

        // Vector kernels built for AVX-512 and for AVX2, chosen at run time (Sources/CKernels/include/CKernels.h).
        .target(name: "CKernels"),

        .target(name: "GliaCore", dependencies: ["COpenBLAS", "CKernels"]),
        .target(name: "GliaData", dependencies: ["GliaCore", "CTIFF", "CNIfTI"]),
        .target(
            name: "GliaTraining",
            dependencies: ["GliaCore", "GliaData", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "GliaTUI", dependencies: ["GliaCore", "GliaData", "GliaTraining", "CNcursesw"]),
        .executableTarget(
            name: "glia",
            dependencies: [
                "GliaCore", "GliaData", "GliaTraining", "GliaTUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Shared test helpers (finite differences, fixture lookup, tmux driver); not shipped.
        .target(name: "GliaTestSupport", dependencies: ["GliaCore"], path: "Tests/GliaTestSupport"),
        .testTarget(name: "GliaCoreTests", dependencies: ["GliaCore", "GliaTestSupport"]),
        .testTarget(name: "GliaDataTests", dependencies: ["GliaData", "GliaTestSupport"]),
        .testTarget(name: "GliaTrainingTests", dependencies: ["GliaTraining", "GliaData", "GliaTestSupport"]),
        .testTarget(name: "GliaTUITests", dependencies: ["GliaTUI", "GliaData", "GliaTraining", "GliaTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["GliaTUI", "GliaTestSupport"]),
        // Fault tests (issue 14): damaged-file generator, crafted checkpoints, absurd numbers, run locks.
        .testTarget(name: "FaultTests", dependencies: ["GliaCore", "GliaData", "GliaTraining", "GliaTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
