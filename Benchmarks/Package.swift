// swift-tools-version:6.1
// Benchmarks for TCompile, in their own package so that users of TCompile never build benchmark
// dependencies. Benchmarks/run-all.sh runs everything in one comparison run (docs/benchmarks.md).
import PackageDescription

let package = Package(
    name: "TCompileBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "TCompile", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
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
        // One tiny-BERT masked-LM training step; run-training.sh compares it with PyTorch.
        .executableTarget(
            name: "TrainingStep",
            dependencies: [.product(name: "Transformers", package: "TCompile"), .product(name: "NN", package: "TCompile")],
            path: "Sources/TrainingStep"
        ),
        // Eager and JIT-compiled model workloads (MiniLM, BERT-base, GPT-2 greedy decoding) and the sgemm
        // ceiling, one workload per process; run-all.sh interleaves it with the AOT harness and the peers.
        .executableTarget(
            name: "ModelBench",
            dependencies: ["CBLASDirect", .product(name: "TCompile", package: "TCompile"),
                           .product(name: "Transformers", package: "TCompile"), .product(name: "NN", package: "TCompile")],
            path: "Sources/ModelBench"
        ),
        // GPT-2 greedy decoding with the compiled generator (`CompiledGenerator`, written on another branch).
        // It does not build until that API is merged; run-all.sh then fills the column, and marks it
        // "not available" while this target fails to build.
        .executableTarget(
            name: "GPT2CompiledBench",
            dependencies: [.product(name: "TCompile", package: "TCompile"), .product(name: "Transformers", package: "TCompile")],
            path: "Sources/GPT2CompiledBench"
        ),
        // What DecodeBench and Seq2SeqBench share: options, clock, median timings, the JSON line.
        .target(name: "GenerationBenchSupport", path: "Sources/GenerationBenchSupport"),
        // The decode workload (prefill, then one token at a time) of any causal LM checkpoint through the
        // compiled generator; run-all.sh compares it with PyTorch, ONNX Runtime, CTranslate2 and llama.cpp.
        .executableTarget(
            name: "DecodeBench",
            dependencies: ["GenerationBenchSupport", .product(name: "TCompile", package: "TCompile"),
                           .product(name: "Transformers", package: "TCompile")],
            path: "Sources/DecodeBench"
        ),
        // The seq2seq workload (T5 / BART, greedy and beam search from a fixed source) eager and through the
        // compiled seq2seq generator; run-all.sh compares it with PyTorch, ONNX Runtime and CTranslate2.
        .executableTarget(
            name: "Seq2SeqBench",
            dependencies: ["GenerationBenchSupport", .product(name: "TCompile", package: "TCompile"),
                           .product(name: "Transformers", package: "TCompile")],
            path: "Sources/Seq2SeqBench"
        ),
        // package-benchmark suite: `swift package benchmark --target TokenizerBenchmarks`.
        .executableTarget(
            name: "TokenizerBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Tokenizers", package: "TCompile"),
            ],
            path: "Benchmarks/TokenizerBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // A plain release-built timer that prints MB/s as JSON, for the same-run comparison with HF
        // tokenizers in run-tokenizers.sh.
        .executableTarget(
            name: "TokenizerThroughput",
            dependencies: [.product(name: "Tokenizers", package: "TCompile")],
            path: "Sources/TokenizerThroughput"
        ),
    ]
)
