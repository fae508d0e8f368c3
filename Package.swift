// swift-tools-version:6.0
// TCompile: an ahead-of-time graph compiler for Transformer models. The layout follows DESIGN.md §2:
// each module may import only the modules above it in that table.
import PackageDescription

let package = Package(
    name: "TCompile",
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Codegen", targets: ["Codegen"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
    ],
    targets: [
        // System libraries: OpenBLAS (libopenblas-dev) and the LLVM 19 C API (llvm-19-dev).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(name: "CLLVM", path: "Sources/CLLVM",
                linkerSettings: [.linkedLibrary("LLVM-19")]),

        // Eager tensors, CPU kernels, autograd, safetensors.
        .target(name: "Tensors", dependencies: ["COpenBLAS"]),
        // WordPiece and byte-level BPE tokenizers, identical to Hugging Face tokenizers.
        .target(name: "Tokenizers"),
        // Lowering to native code through LLVM.
        .target(name: "Codegen", dependencies: ["CLLVM", "COpenBLAS"]),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "CodegenTests", dependencies: ["Codegen"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"],
                    resources: [.copy("Fixtures")]),
    ]
)
