// swift-tools-version:6.0
// The smallest Swift executable that links a model compiled by tcompile: `import minilm` finds the
// module.modulemap tcompile writes next to minilm.h, and the main package is used only for its
// tokenizer. Build (run.sh compiles the model into .build/lib first):
//
//   swift build --package-path samples/link-swift -Xswiftc -I<lib> -Xlinker -L<lib>
import PackageDescription

let package = Package(
    name: "link-swift",
    dependencies: [.package(name: "TCompile", path: "../..")],
    targets: [
        .executableTarget(name: "link-swift", dependencies: [.product(name: "Tokenizers", package: "TCompile")]),
    ]
)
