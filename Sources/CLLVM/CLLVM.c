// Intentionally empty: this C target exists to carry the LLVM 19 headers into SwiftPM.
