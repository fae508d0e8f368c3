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
        .target(name: "CLLVM", path: "Sources/CLLVM", linkerSettings: llvmLinkerSettings),

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

/// How LLVM is linked. By default the shared libLLVM-19, which any build can use (a package depending on
/// TCompile through its URL may not carry linker flags). `TCOMPILE_STATIC_LLVM=1` (scripts/build-tcompile.sh,
/// the benchmarks) links LLVM's static libraries instead, only the X86 target and what the JIT and passes
/// need: tcompile then starts in a third of the time (relocating the 100 MB shared library at every start
/// was 20-25 ms), which is a large part of a command that compiles a model in 0.3-0.5 s.
var llvmLinkerSettings: [LinkerSetting] {
    guard Context.environment["TCOMPILE_STATIC_LLVM"] == "1" else { return [.linkedLibrary("LLVM-19")] }
    // `llvm-config-19 --link-static --libs x86 orcjit passes target ipo`, in link order.
    let components = [
        "OrcJIT", "Passes", "HipStdPar", "Coroutines", "ipo", "Vectorize", "Linker", "FrontendOpenMP",
        "FrontendOffloading", "WindowsDriver", "JITLink", "Option", "ExecutionEngine", "RuntimeDyld",
        "OrcTargetProcess", "OrcShared", "X86TargetMCA", "MCA", "X86Disassembler", "X86AsmParser", "X86CodeGen",
        "X86Desc", "X86Info", "MCDisassembler", "Instrumentation", "IRPrinter", "GlobalISel", "SelectionDAG",
        "CFGuard", "AsmPrinter", "CodeGen", "Target", "ScalarOpts", "InstCombine", "AggressiveInstCombine",
        "ObjCARCOpts", "TransformUtils", "CodeGenTypes", "BitWriter", "Analysis", "ProfileData", "Symbolize",
        "DebugInfoBTF", "DebugInfoPDB", "DebugInfoMSF", "DebugInfoDWARF", "Object", "TextAPI", "MCParser",
        "IRReader", "AsmParser", "MC", "DebugInfoCodeView", "BitReader", "Core", "Remarks", "BitstreamReader",
        "BinaryFormat", "TargetParser", "Support", "Demangle",
    ]
    // zlib and zstd by their runtime names: their -dev packages (the unversioned .so) may be absent.
    let flags = ["-L/usr/lib/llvm-19/lib"] + components.map { "-lLLVM\($0)" }
        + ["-Xlinker", "-l:libz.so.1", "-Xlinker", "-l:libzstd.so.1", "-lstdc++"]
    return [.unsafeFlags(flags)]
}
