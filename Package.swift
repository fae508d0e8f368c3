// swift-tools-version:6.0
// TCompile: an ahead-of-time graph compiler for Transformer models. Each target declares every module
// it imports, and a module imports only modules listed above it (docs/architecture.md has the picture).
import PackageDescription

let package = Package(
    name: "TCompile",
    products: [
        .library(name: "JSON", targets: ["JSON"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Codegen", targets: ["Codegen"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Graph", targets: ["Graph"]),
        .library(name: "Passes", targets: ["Passes"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Transformers", targets: ["Transformers"]),
        .library(name: "TCompile", targets: ["TCompile"]),
        .executable(name: "tcompile", targets: ["tcompile"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation`: DocC reference of every module from its `///` comments.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // System libraries: OpenBLAS (libopenblas-dev) and the LLVM 19 C API (llvm-19-dev).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(name: "CLLVM", path: "Sources/CLLVM",
                linkerSettings: [.linkedLibrary("LLVM-19")]),

        // Contiguous float kernels with runtime dispatch to AVX-512 / AVX2 / baseline x86-64.
        .target(name: "CKernels", path: "Sources/CKernels"),
        // The lock of all shared state (visible to ThreadSanitizer, unlike Synchronization.Mutex on Linux).
        .target(name: "Locks"),
        // The one JSON parser (hardened, fuzzed, depth-limited) and reader with field paths in errors.
        .target(name: "JSON"),
        // Eager tensors, CPU kernels, autograd, safetensors.
        .target(name: "Tensors", dependencies: ["COpenBLAS", "CKernels", "Locks", "JSON"]),
        // Modules, layers, losses, optimizers and the Trainer, on top of eager tensors.
        .target(name: "NN", dependencies: ["Tensors"]),
        // The graph IR: symbolic dims, verifier, text form, model.json, tracer, interpreter.
        .target(name: "Graph", dependencies: ["Tensors", "Locks", "JSON"]),
        // WordPiece and byte-level BPE tokenizers, identical to Hugging Face tokenizers.
        .target(name: "Tokenizers", dependencies: ["Locks", "JSON"]),
        // The graph optimizer: one rewrite engine, passes as rule files, a pass manager.
        .target(name: "Passes", dependencies: ["Graph", "Tensors"]),
        // Hugging Face model families in eager Swift, loaded from real checkpoints, and their registry.
        .target(name: "Transformers", dependencies: ["NN", "Tokenizers", "JSON"]),
        // Lowering to native code through LLVM.
        .target(name: "Codegen", dependencies: ["Graph", "Tensors", "CLLVM", "Locks"]),

        // The public face: compile(graph), CompiledModel, re-exporting the modules above.
        .target(name: "TCompile", dependencies: ["Codegen", "Passes", "Graph", "Transformers", "NN", "Tensors", "JSON"]),
        // The command line.
        .executableTarget(name: "tcompile", dependencies: [
            "TCompile", "Tokenizers", "Transformers", "JSON", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "TCompileTests", dependencies: ["TCompile", "tcompile", "Transformers"], exclude: ["Fixtures"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "CodegenTests", dependencies: ["Codegen", "Passes", "NN", "Graph", "Tensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensors"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "GraphTests", dependencies: ["Graph", "Tensors"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "PassesTests", dependencies: ["Passes", "NN", "Graph", "Tensors"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "TransformersTests", dependencies: ["Transformers", "Graph", "NN", "Tensors", "Tokenizers"],
                    resources: [.copy("Fixtures")]),

        // Samples: each is one `swift run` command.
        .executableTarget(name: "train-basics", dependencies: ["NN", "Tensors"], path: "samples/train-basics"),
        .executableTarget(name: "train-classifier", dependencies: ["Transformers", "Tokenizers", "NN", "Tensors"], path: "samples/classify/train"),
        .executableTarget(name: "train-ner", dependencies: ["Transformers", "Tokenizers", "NN", "Tensors"], path: "samples/ner/train"),
        .executableTarget(name: "train-reranker", dependencies: ["Transformers", "Tokenizers", "NN", "Tensors"], path: "samples/rerank/train"),
        .executableTarget(name: "train-tiny-lm", dependencies: ["Transformers", "Tokenizers", "NN", "Tensors"], path: "samples/tiny-lm/train"),
        .executableTarget(name: "train-translate", dependencies: ["Transformers", "Tokenizers", "NN", "Tensors"], path: "samples/translate/train"),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"],
                    resources: [.copy("Fixtures")]),
        .executableTarget(name: "transformers-bench", dependencies: ["Transformers", "NN", "Tensors"],
                          path: "samples/transformers-bench"),
        .executableTarget(name: "fill-mask", dependencies: ["TCompile", "Transformers"], path: "samples/fill-mask"),
        .executableTarget(name: "generate", dependencies: ["TCompile", "Transformers", "Tokenizers", "NN"], path: "samples/generate",
                          exclude: ["tokenizer"]),
    ]
)
