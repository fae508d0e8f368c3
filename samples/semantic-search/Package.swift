// swift-tools-version:6.0
// Semantic search over a small document set with all-MiniLM-L6-v2 compiled ahead of time by tcompile:
// `import minilm` finds the module.modulemap that tcompile writes next to minilm.h; the main package
// is used only for its tokenizer. run.sh compiles the model into .build/lib, then builds with
//
//   swift build --package-path samples/semantic-search -Xswiftc -I<lib> -Xlinker -L<lib>
import PackageDescription

let package = Package(
    name: "semantic-search",
    dependencies: [.package(name: "TCompile", path: "../..")],
    targets: [
        .executableTarget(name: "semantic-search", dependencies: [.product(name: "Tokenizers", package: "TCompile")]),
    ]
)
