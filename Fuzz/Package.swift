// swift-tools-version:6.0
// libFuzzer targets for TCompile's parsers and tokenizers, in their own package so that the main
// package never builds with sanitizer flags. Build and run them with scripts/fuzz.sh; each target is an
// executable whose entry point hands control to libFuzzer (see FuzzSupport).
import PackageDescription

let package = Package(
    name: "TCompileFuzz",
    dependencies: [
        .package(name: "TCompile", path: ".."),
    ],
    targets: [
        // The libFuzzer driver call and the scratch files every target shares.
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
        // The small traced graph the model-json, run and weights targets start from.
        .target(name: "FuzzSeeds", dependencies: [.product(name: "TCompile", package: "TCompile")], path: "Sources/FuzzSeeds"),
        // SafeTensorsFile: header, dtypes, shapes, offsets; then every tensor is materialized.
        .executableTarget(name: "fuzz-safetensors", dependencies: [
            "FuzzSupport", .product(name: "Tensors", package: "TCompile"),
        ], path: "Sources/fuzz-safetensors"),
        // The JSON module itself: the parser on raw bytes, then the reader and decoder on what parses.
        .executableTarget(name: "fuzz-json", dependencies: [
            "FuzzSupport", .product(name: "JSON", package: "TCompile"),
        ], path: "Sources/fuzz-json"),
        // model.json in both formats, dispatched on "format" as TCompile.load does.
        .executableTarget(name: "fuzz-model-json", dependencies: [
            "FuzzSupport", "FuzzSeeds", .product(name: "TCompile", package: "TCompile"), .product(name: "JSON", package: "TCompile"),
        ], path: "Sources/fuzz-model-json"),
        // config.json decoded as a BERT, RoBERTa and GPT-2 config.
        .executableTarget(name: "fuzz-config", dependencies: [
            "FuzzSupport", .product(name: "Transformers", package: "TCompile"),
        ], path: "Sources/fuzz-config"),
        // tokenizer.json loading; a tokenizer that loads also encodes and decodes a sentence.
        .executableTarget(name: "fuzz-tokenizer-json", dependencies: [
            "FuzzSupport", .product(name: "Tokenizers", package: "TCompile"),
        ], path: "Sources/fuzz-tokenizer-json"),
        // SentencePiece .model loading (the protobuf reader); a model that loads also encodes and decodes.
        .executableTarget(name: "fuzz-spm-model", dependencies: [
            "FuzzSupport", .product(name: "Tokenizers", package: "TCompile"),
        ], path: "Sources/fuzz-spm-model"),
        // Arbitrary bytes encoded (single, pair) and decoded by the WordPiece tokenizer of MiniLM.
        .executableTarget(name: "fuzz-wordpiece", dependencies: [
            "FuzzSupport", .product(name: "Tokenizers", package: "TCompile"),
        ], path: "Sources/fuzz-wordpiece"),
        // The run path: fuzzed inputs (rank, dtype, dims in and out of bounds, any ids) through the
        // interpreter and the JIT-compiled seed graph; both refuse or both agree.
        .executableTarget(name: "fuzz-run", dependencies: [
            "FuzzSupport", "FuzzSeeds", .product(name: "TCompile", package: "TCompile"),
        ], path: "Sources/fuzz-run"),
        // NAME.weights bytes through the generated NAME_create and NAME_run of an AOT library.
        .executableTarget(name: "fuzz-weights", dependencies: [
            "FuzzSupport", "FuzzSeeds", .product(name: "TCompile", package: "TCompile"),
        ], path: "Sources/fuzz-weights"),
        // Mutated graphs (attributes, dims, symbols, bounds, op kinds, operands) through save, load and
        // verify, JIT compile, and a differential run against the interpreter.
        .executableTarget(name: "fuzz-graph", dependencies: [
            "FuzzSupport", "FuzzSeeds", .product(name: "TCompile", package: "TCompile"),
        ], path: "Sources/fuzz-graph"),
        // `export` on a fuzzed config.json and safetensors header, for every registered family.
        .executableTarget(name: "fuzz-export", dependencies: [
            "FuzzSupport", .product(name: "TCompile", package: "TCompile"), .product(name: "Transformers", package: "TCompile"),
            .product(name: "JSON", package: "TCompile"),
        ], path: "Sources/fuzz-export"),
        // Arbitrary bytes encoded and decoded by the GPT-2 and RoBERTa byte-level BPE tokenizers.
        .executableTarget(name: "fuzz-bpe", dependencies: [
            "FuzzSupport", .product(name: "Tokenizers", package: "TCompile"),
        ], path: "Sources/fuzz-bpe"),
    ]
)
