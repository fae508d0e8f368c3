// Umbrella header for the LLVM 19 C API (Debian: llvm-19-dev). The `llvm` and `llvm-c` entries beside
// this file are symlinks into /usr/lib/llvm-19/include, so SwiftPM needs no unsafe flags.
#ifndef TCOMPILE_CLLVM_H
#define TCOMPILE_CLLVM_H
#include "llvm-c/Core.h"
#include "llvm-c/Analysis.h"
#include "llvm-c/BitReader.h"
#include "llvm-c/BitWriter.h"
#include "llvm-c/Error.h"
#include "llvm-c/LLJIT.h"
#include "llvm-c/Orc.h"
#include "llvm-c/Support.h"
#include "llvm-c/Target.h"
#include "llvm-c/TargetMachine.h"
#include "llvm-c/Transforms/PassBuilder.h"

/// Initializes the native target, its assembly printer and parser (the macros are invisible to Swift).
static inline int tc_llvm_initialize_native(void) {
    if (LLVMInitializeNativeTarget()) return 1;
    if (LLVMInitializeNativeAsmPrinter()) return 1;
    if (LLVMInitializeNativeAsmParser()) return 1;
    return 0;
}
#endif
