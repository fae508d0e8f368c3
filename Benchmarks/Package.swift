// swift-tools-version:6.1
// Benchmarks for TCompile, in their own package so that users of TCompile never build benchmark
// dependencies. Run from this folder; see run-*.sh.
import PackageDescription

let package = Package(
    name: "TCompileBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "TCompile", path: ".."),
    ],
    targets: [
        // Direct OpenBLAS access, for comparing our matmul with a bare cblas_sgemm call.
        .systemLibrary(name: "CBLASDirect", path: "Sources/CBLASDirect"),
        // A release-built timer for eager tensor kernels; run-tensors.sh compares it with NumPy.
        .executableTarget(
            name: "TensorThroughput",
            dependencies: ["CBLASDirect", .product(name: "Tensors", package: "TCompile")],
            path: "Sources/TensorThroughput"
        ),
    ]
)
