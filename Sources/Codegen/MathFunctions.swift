import CLLVM

/// exp, tanh, erf, GELU and sigmoid as small always-inline LLVM functions: the same polynomials as
/// the eager kernels (`CKernels.h`), so they vectorize inside generated loops instead of becoming
/// scalar libm calls.
struct MathFunctions {
    let ir: IRBuilder

    init(ir: IRBuilder) { self.ir = ir }

    private func define(_ name: String, _ body: (IRBuilder, LLVMValueRef) -> LLVMValueRef) -> LLVMValueRef {
        if let existing = LLVMGetNamedFunction(ir.module, name) { return existing }
        let type = ir.functionType(ir.f32, [ir.f32])
        let f = LLVMAddFunction(ir.module, name, type)!
        LLVMSetLinkage(f, LLVMInternalLinkage)
        let kind = LLVMGetEnumAttributeKindForName("alwaysinline", 12)
        LLVMAddAttributeAtIndex(f, UInt32(bitPattern: Int32(LLVMAttributeFunctionIndex)), LLVMCreateEnumAttribute(ir.context, kind, 0))
        let b = IRBuilder(context: ir.context, module: ir.module)
        b.position(at: LLVMAppendBasicBlockInContext(ir.context, f, "entry"))
        b.ret(body(b, LLVMGetParam(f, 0)))
        return f
    }

    /// Calls `name`'s function on `x`.
    func apply(_ f: LLVMValueRef, _ x: LLVMValueRef) -> LLVMValueRef {
        ir.call(f, ir.functionType(ir.f32, [ir.f32]), [x])
    }

    private func clamp(_ b: IRBuilder, _ x: LLVMValueRef, _ lo: Float, _ hi: Float) -> LLVMValueRef {
        let low = b.select(b.fcmp(LLVMRealOLT, x, b.float(lo)), b.float(lo), x)
        return b.select(b.fcmp(LLVMRealOGT, low, b.float(hi)), b.float(hi), low)
    }

    private func polynomial(_ b: IRBuilder, _ x: LLVMValueRef, _ coefficients: [Float]) -> LLVMValueRef {
        var p = b.float(coefficients[0])
        for c in coefficients.dropFirst() { p = b.fadd(b.fmul(p, x), b.float(c)) }
        return p
    }

    /// e^x (Cephes expf), as `tc_exp`.
    var exp: LLVMValueRef {
        define("tc.exp") { b, x in
            let isNaN = b.fcmp(LLVMRealUNO, x, x)
            let xc = b.select(isNaN, b.float(0), clamp(b, x, -87.33654, 88.72283))
            let t = b.fmul(xc, b.float(1.44269504))
            let n = b.fsub(b.fadd(t, b.float(12_582_912)), b.float(12_582_912))
            let r = b.fadd(b.fsub(xc, b.fmul(n, b.float(0.693359375))), b.fmul(n, b.float(2.12194440e-4)))
            let p = polynomial(b, r, [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1])
            let y = b.fadd(b.fadd(b.fmul(p, b.fmul(r, r)), r), b.float(1))
            let ni = b.fptosi(n, b.i32)
            let over = b.icmp(LLVMIntSGT, ni, b.int32(127))
            let nc = b.select(over, b.int32(127), ni)
            let scale = b.bitcast(b.shl(b.add(nc, b.int32(127)), b.int32(23)), b.f32)
            var result = b.fmul(b.fmul(y, scale), b.select(over, b.float(2), b.float(1)))
            result = b.select(b.fcmp(LLVMRealOLT, x, b.float(-87.33654)), b.float(0), result)
            result = b.select(b.fcmp(LLVMRealOGT, x, b.float(88.72283)), b.float(.infinity), result)
            return b.select(isNaN, x, result)
        }
    }

    /// tanh as a rational function (as `tc_tanh`).
    var tanh: LLVMValueRef {
        define("tc.tanh") { b, v in
            let x = clamp(b, v, -7.90531110763549805, 7.90531110763549805)
            let x2 = b.fmul(x, x)
            let p = b.fmul(polynomial(b, x2, [-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                                              5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03]), x)
            let q = polynomial(b, x2, [1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03])
            let magnitude = b.intrinsic("llvm.fabs", [v])
            return b.select(b.fcmp(LLVMRealOLT, magnitude, b.float(0.0004)), v, b.fdiv(p, q))
        }
    }

    /// erf as a rational function (as `tc_erf`).
    var erf: LLVMValueRef {
        define("tc.erf") { b, v in
            let x = clamp(b, v, -4, 4)
            let x2 = b.fmul(x, x)
            let p = b.fmul(polynomial(b, x2, [-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                                              -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02]), x)
            let q = polynomial(b, x2, [-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03, -1.42647390514189e-02])
            return b.select(b.fcmp(LLVMRealUNO, v, v), v, b.fdiv(p, q))
        }
    }

    /// GELU, exact form.
    var gelu: LLVMValueRef {
        let erf = self.erf
        return define("tc.gelu") { b, x in
            let e = b.call(erf, b.functionType(b.f32, [b.f32]), [b.fmul(x, b.float(0.70710678118654752))])
            return b.fmul(b.fmul(b.float(0.5), x), b.fadd(b.float(1), e))
        }
    }

    /// GELU, tanh approximation.
    var geluTanh: LLVMValueRef {
        let tanh = self.tanh
        return define("tc.gelu_tanh") { b, x in
            let cube = b.fmul(b.fmul(x, x), x)
            let inner = b.fmul(b.float(0.7978845608028654), b.fadd(x, b.fmul(b.float(0.044715), cube)))
            let t = b.call(tanh, b.functionType(b.f32, [b.f32]), [inner])
            return b.fmul(b.fmul(b.float(0.5), x), b.fadd(b.float(1), t))
        }
    }

    /// 1 / (1 + e^{-x}).
    var sigmoid: LLVMValueRef {
        let exp = self.exp
        return define("tc.sigmoid") { b, x in
            let e = b.call(exp, b.functionType(b.f32, [b.f32]), [b.fneg(x)])
            return b.fdiv(b.float(1), b.fadd(b.float(1), e))
        }
    }
}
