import CLLVM

/// The data of an AOT library, in an object of its own beside the code's: the weights file's header
/// (which `NAME_create` compares with the file it maps) and, with `--embed-weights`, the weights. The
/// code object only declares them, so it depends on the graphs alone and not on the weights' values:
/// the compile cache keeps it, and a retrained checkpoint of the same architecture reuses it. The data
/// object needs no optimization, only LLVM's object writer.
enum LibraryData {
    /// The header's symbol (`NAME_tcompile_weights_header`).
    static func headerSymbol(_ name: String) -> String { "\(name)_tcompile_weights_header" }
    /// The embedded weights' symbol (`NAME_tcompile_weights`).
    static func weightsSymbol(_ name: String) -> String { "\(name)_tcompile_weights" }

    /// Declares, in the code module, the constant byte array `symbol` of `bytes` bytes that the data object defines.
    static func declare(_ ir: IRBuilder, _ symbol: String, bytes: Int) -> LLVMValueRef {
        let global = LLVMAddGlobal(ir.module, LLVMArrayType2(ir.i8, UInt64(bytes)), symbol)!
        LLVMSetGlobalConstant(global, 1)
        LLVMSetLinkage(global, LLVMExternalLinkage)
        LLVMSetAlignment(global, 64)
        return global
    }

    /// The data object of library `name` for `options.target`, and the symbols it defines.
    static func object(name: String, header: [UInt8], embedded: [UInt8]?, options: CompileOptions) throws -> (object: [UInt8], symbols: [String]) {
        let context = LLVMContextCreate()!
        defer { LLVMContextDispose(context) }
        let module = LLVMModuleCreateWithNameInContext("\(name)_data", context)!
        defer { LLVMDisposeModule(module) }
        try TargetMachine(options.target).configure(module)
        var symbols: [String] = []
        func define(_ symbol: String, _ bytes: [UInt8]) {
            let data = bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { LLVMConstStringInContext2(context, $0.baseAddress, bytes.count, 1)! }
            }
            let global = LLVMAddGlobal(module, LLVMTypeOf(data), symbol)!
            LLVMSetInitializer(global, data)
            LLVMSetGlobalConstant(global, 1)
            LLVMSetLinkage(global, LLVMExternalLinkage)
            LLVMSetAlignment(global, 64)
            symbols.append(symbol)
        }
        define(headerSymbol(name), header)
        if let embedded { define(weightsSymbol(name), embedded) }
        return (try ModuleBuilder.emit(module, options: options, assembly: false), symbols)
    }
}
