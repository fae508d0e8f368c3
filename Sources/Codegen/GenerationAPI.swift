import CLLVM
import Graph

/// The generation state API of a library holding a causal language model's prefill and decode-step
/// kernels (`CompiledGenerator`'s graphs), emitted as LLVM IR so the library still needs only libc and
/// libm: `NAME_gen_create` makes a state (one sequence, batch 1) that owns its KV cache, ids and
/// workspace, sized for a length bound; `NAME_gen_prompt`, `NAME_gen_step` and `NAME_gen_run` decode
/// greedily or by sampling with the algorithm of `DecodingLoop.sample` and the `RandomGenerator`
/// sequence (xoshiro256** seeded through SplitMix64), so eager Swift, the JIT and the library pick the
/// same tokens for the same seed. docs/c-abi.md documents every function.
///
/// The cache is position-major (`[1, positions, heads, head_dim]`, `GenerationGraphs`), so the past is
/// a prefix of the present: a state keeps one cache and passes it to the decode step as both, which
/// appends the new position in place (`GraphLowering`) instead of copying the whole cache every step.
struct GenerationAPI {
    /// What the header and the emitted code know of the model.
    struct Layout: Sendable {
        /// The compiled bound on prompt + new tokens (the prefill's `seq` bound).
        var maxLength: Int
        var vocabulary: Int
        var layers: Int
        /// Stop tokens a new state starts with (the config's EOS ids).
        var defaultStops: [Int]
        /// Most stop tokens a state holds.
        static let maxStops = 16
    }

    let api: CAPI
    let ir: IRBuilder
    let name: String
    let layout: Layout
    private let prefill: CAPI.Entry, decode: CAPI.Entry
    private let prefillTable: Int, decodeTable: Int
    /// Floats per position of each cache buffer (`present.L.key`, `present.L.value`, …, in that order):
    /// heads × head_dim.
    private let rows: [Int]
    /// Bytes of workspace a state allocates: the larger kernel's.
    private let workspaceBytes: Int

    // The state struct, by byte offset: rng holds four u64, stops `Layout.maxStops` i64, error `errorBytes`.
    private static let model = 0, bound = 8, length = 16, fed = 24, ids = 32, mask = 40, positions = 48, workspace = 56,
                       logits = 64, cache = 72, doSample = 80, temperature = 88, topP = 92,
                       topK = 96, seed = 104, rng = 112, stopCount = 144, stops = 152, pairs = 280, error = 288
    private static let errorBytes = 256, stateBytes = 544

    /// Checks that entries `prefill` and `decode` of `api` have the inputs and outputs of
    /// `CompiledGenerator`'s graphs at batch 1.
    init(api: CAPI, prefill p: Int, decode d: Int, eosTokenIds: [Int] = []) throws {
        self.api = api
        ir = api.ir
        name = api.name
        prefill = api.entries[p]
        decode = api.entries[d]
        prefillTable = api.tableStart(p)
        decodeTable = api.tableStart(d)
        func fail(_ message: String) -> CodegenError { CodegenError("generation: \(message)") }
        let pg = prefill.graph, dg = decode.graph
        guard pg.symbols.map(\.name) == ["seq"], let seqBound = pg.symbols.first?.max else {
            throw fail("the prefill graph must have the one dim 'seq' (batch 1), has \(pg.symbols.map(\.name))")
        }
        guard dg.symbols.map(\.name) == ["past"], let pastBound = dg.symbols.first?.max, pastBound >= seqBound - 1 else {
            throw fail("the decode graph must have the one dim 'past' bounded by at least seq - 1 (batch 1), has \(dg.symbols.map(\.description))")
        }
        let seq = SymbolicInt(symbol: "seq"), past = SymbolicInt(symbol: "past")
        func input(_ g: Graph, _ n: String) -> TensorType? {
            g.inputNodes.first { if case .input(n) = $0.op { true } else { false } }?.type
        }
        func output(_ g: Graph, _ n: String) -> TensorType? { g.outputs.first { $0.name == n }.flatMap { g.node($0.value)?.type } }
        let ids = TensorType(.int64, [1, seq])
        for n in ["input_ids", "attention_mask", "position_ids"] where input(pg, n) != ids {
            throw fail("prefill input '\(n)' must be i64 [1, seq], is \(input(pg, n).map(\.description) ?? "missing")")
        }
        for (n, t) in [("input_ids", TensorType(.int64, [1, 1])), ("position_ids", TensorType(.int64, [1, 1])),
                       ("past_attention_mask", TensorType(.int64, [1, past]))] where input(dg, n) != t {
            throw fail("decode input '\(n)' must be \(t), is \(input(dg, n).map(\.description) ?? "missing")")
        }
        guard let logits = output(pg, "logits"), logits.dtype == .float32, logits.shape.count == 3, logits.shape[0] == 1,
              logits.shape[1] == 1, let vocabulary = logits.shape[2].constant, output(dg, "logits") == logits else {
            throw fail("both graphs must output 'logits' f32 [1, 1, vocab]")
        }
        let layers = pg.outputs.filter { $0.name.hasPrefix("present.") }.count / 2
        guard layers >= 1, pg.inputNodes.count == 3, pg.outputs.count == 1 + 2 * layers, dg.inputNodes.count == 3 + 2 * layers,
              dg.outputs.count == 1 + 2 * layers else {
            throw fail("the graphs must have the inputs and outputs of CompiledGenerator's prefill and decode step")
        }
        var rows: [Int] = []
        for l in 0..<layers {
            for kind in ["key", "value"] {
                guard let t = output(pg, "present.\(l).\(kind)"), t.dtype == .float32, t.shape.count == 4, t.shape[0] == 1, t.shape[1] == seq,
                      let heads = t.shape[2].constant, let width = t.shape[3].constant,
                      input(dg, "past.\(l).\(kind)") == TensorType(.float32, [1, past, t.shape[2], t.shape[3]]),
                      output(dg, "present.\(l).\(kind)") == TensorType(.float32, [1, past + 1, t.shape[2], t.shape[3]]) else {
                    throw fail("cache 'present.\(l).\(kind)' must be f32 [1, seq, heads, head_dim] (position-major) in prefill and decode")
                }
                rows.append(heads * width)
            }
        }
        if let bad = eosTokenIds.first(where: { $0 < 0 || $0 >= vocabulary }) { throw fail("EOS id \(bad) is outside the vocabulary 0..<\(vocabulary)") }
        self.rows = rows
        workspaceBytes = max(64, prefill.signature.workspaceBytes, decode.signature.workspaceBytes)
        layout = Layout(maxLength: seqBound, vocabulary: vocabulary, layers: layers,
                        defaultStops: Array(Set(eosTokenIds)).sorted().prefix(Layout.maxStops).map { $0 })
    }

    /// The exported symbols, for the archive index.
    var symbols: [String] {
        ["gen_create", "gen_destroy", "gen_set_greedy", "gen_set_sampling", "gen_set_stop_tokens", "gen_prompt", "gen_step", "gen_run",
         "gen_length", "gen_ids", "gen_reset", "gen_last_error"].map { "\(name)_\($0)" }
    }

    // MARK: - Emission helpers

    /// A function body under construction: locals go to the entry block, code to the blocks after it.
    private final class Body {
        let ir: IRBuilder
        let function: LLVMValueRef
        let entry: LLVMBasicBlockRef
        let start: LLVMBasicBlockRef

        init(_ ir: IRBuilder, _ function: LLVMValueRef) {
            self.ir = ir
            self.function = function
            entry = LLVMAppendBasicBlockInContext(ir.context, function, "entry")
            start = LLVMAppendBasicBlockInContext(ir.context, function, "start")
            ir.position(at: start)
        }

        func param(_ i: Int) -> LLVMValueRef { LLVMGetParam(function, UInt32(i))! }

        /// A stack slot of `type` (`count` of them), allocated once per call.
        func local(_ type: LLVMTypeRef, count: Int = 1) -> LLVMValueRef {
            let here = LLVMGetInsertBlock(ir.builder)!
            ir.position(at: entry)
            let slot = count == 1 ? LLVMBuildAlloca(ir.builder, type, "")! : LLVMBuildArrayAlloca(ir.builder, type, ir.int(count), "")!
            ir.position(at: here)
            return slot
        }

        /// A local initialized to `value`.
        func variable(_ value: LLVMValueRef) -> LLVMValueRef {
            let slot = local(LLVMTypeOf(value))
            ir.store(value, slot)
            return slot
        }

        /// `for i in from..<to { body(i) }` on i64.
        func loop(_ from: LLVMValueRef, _ to: LLVMValueRef, _ body: (LLVMValueRef) -> Void) {
            let i = variable(from)
            whileLoop({ ir.icmp(LLVMIntSLT, ir.load(ir.i64, i), to) }) {
                let v = ir.load(ir.i64, i)
                body(v)
                ir.store(ir.add(v, ir.int(1)), i)
            }
        }

        func whileLoop(_ condition: () -> LLVMValueRef, _ body: () -> Void) {
            let head = ir.block("while"), inside = ir.block("do"), after = ir.block("done")
            ir.br(head)
            ir.position(at: head)
            ir.condBr(condition(), inside, after)
            ir.position(at: inside)
            body()
            ir.br(head)
            ir.position(at: after)
        }

        func ifThen(_ condition: LLVMValueRef, _ then: () -> Void) {
            let yes = ir.block("then"), after = ir.block("endif")
            ir.condBr(condition, yes, after)
            ir.position(at: yes)
            then()
            if LLVMGetBasicBlockTerminator(LLVMGetInsertBlock(ir.builder)) == nil { ir.br(after) }
            ir.position(at: after)
        }

        /// Returns `value` when `condition` holds, else continues.
        func returnIf(_ condition: LLVMValueRef, _ value: @autoclosure () -> LLVMValueRef) {
            ifThen(condition) { ir.ret(value()) }
        }

        /// Ends the body: the entry block (locals) jumps to the first code block.
        func finish() {
            ir.position(at: entry)
            ir.br(start)
        }
    }

    private func declare(_ symbol: String, _ result: LLVMTypeRef, _ params: [LLVMTypeRef], varArgs: Bool = false,
                         isInternal: Bool = false) -> (LLVMValueRef, LLVMTypeRef) {
        var p: [LLVMTypeRef?] = params
        let type = p.withUnsafeMutableBufferPointer { LLVMFunctionType(result, $0.baseAddress, UInt32(params.count), varArgs ? 1 : 0) }!
        let f = ir.function(symbol, type)
        if isInternal { LLVMSetLinkage(f, LLVMInternalLinkage) }
        return (f, type)
    }

    private func field(_ state: LLVMValueRef, _ offset: Int) -> LLVMValueRef { ir.gep(ir.i8, state, ir.int(offset)) }
    private func load(_ type: LLVMTypeRef, _ state: LLVMValueRef, _ offset: Int) -> LLVMValueRef { ir.load(type, field(state, offset)) }
    private func store(_ value: LLVMValueRef, _ state: LLVMValueRef, _ offset: Int) { ir.store(value, field(state, offset)) }
    private func isNull(_ p: LLVMValueRef) -> LLVMValueRef { ir.icmp(LLVMIntEQ, LLVMBuildPtrToInt(ir.builder, p, ir.i64, ""), ir.int(0)) }
    private func status(_ s: CAPI.Status) -> LLVMValueRef { ir.int32(s.rawValue) }
    private func lshr(_ a: LLVMValueRef, _ k: Int) -> LLVMValueRef { LLVMBuildLShr(ir.builder, a, ir.int(k), "")! }
    private func rotl(_ a: LLVMValueRef, _ k: Int) -> LLVMValueRef { ir.or(ir.shl(a, ir.int(k)), lshr(a, 64 - k)) }
    private func const64(_ v: UInt64) -> LLVMValueRef { LLVMConstInt(ir.i64, v, 0) }
    private func string(_ s: String) -> LLVMValueRef { LLVMBuildGlobalStringPtr(ir.builder, s, "")! }

    // MARK: - The functions

    /// Emits every `NAME_gen_*` function.
    func emit() {
        let g = "\(name)_gen"
        let i64 = ir.i64, i32 = ir.i32, ptr = ir.ptr, f32 = ir.f32
        let (malloc, mallocT) = declare("malloc", ptr, [i64])
        let (calloc, callocT) = declare("calloc", ptr, [i64, i64])
        let (alignedAlloc, alignedAllocT) = declare("aligned_alloc", ptr, [i64, i64])
        let (free, freeT) = declare("free", ir.void, [ptr])
        let (snprintf, snprintfT) = declare("snprintf", i32, [ptr, i64, ptr], varArgs: true)
        let (qsort, qsortT) = declare("qsort", ir.void, [ptr, i64, i64, ptr])
        let (expf, expfT) = declare("expf", f32, [f32])
        let kernelType = api.kernelType
        let V = layout.vocabulary

        /// Formats the state's error message and returns `s`.
        func failing(_ body: Body, _ state: LLVMValueRef, _ s: CAPI.Status, _ format: String, _ args: [LLVMValueRef]) {
            ir.call(snprintf, snprintfT, [field(state, Self.error), ir.int(Self.errorBytes), string(format)] + args)
            ir.ret(status(s))
        }
        func failIf(_ body: Body, _ condition: LLVMValueRef, _ state: LLVMValueRef, _ s: CAPI.Status, _ format: String,
                    _ args: @escaping () -> [LLVMValueRef] = { [] }) {
            body.ifThen(condition) { failing(body, state, s, format, args()) }
        }

        // void NAME_gen.seed(state, seed): the RandomGenerator state for `seed` (SplitMix64 × 4).
        let (seedRNG, seedRNGT) = declare("\(g).seed", ir.void, [ptr, i64], isInternal: true)
        do {
            let b = Body(ir, seedRNG)
            var x = b.param(1)
            for k in 0..<4 {
                x = ir.add(x, const64(0x9E37_79B9_7F4A_7C15))
                var z = ir.mul(ir.xor(x, lshr(x, 30)), const64(0xBF58_476D_1CE4_E5B9))
                z = ir.mul(ir.xor(z, lshr(z, 27)), const64(0x94D0_49BB_1331_11EB))
                store(ir.xor(z, lshr(z, 31)), b.param(0), Self.rng + 8 * k)
            }
            ir.ret()
            b.finish()
        }

        // i64 NAME_gen.next(state): xoshiro256** (`RandomGenerator.next`).
        let (next, nextT) = declare("\(g).next", i64, [ptr], isInternal: true)
        do {
            let b = Body(ir, next)
            let st = b.param(0)
            var s = (0..<4).map { load(i64, st, Self.rng + 8 * $0) }
            let result = ir.mul(rotl(ir.mul(s[1], ir.int(5)), 7), ir.int(9))
            let t = ir.shl(s[1], ir.int(17))
            s[2] = ir.xor(s[2], s[0]); s[3] = ir.xor(s[3], s[1]); s[1] = ir.xor(s[1], s[2]); s[0] = ir.xor(s[0], s[3])
            s[2] = ir.xor(s[2], t)
            s[3] = rotl(s[3], 45)
            for k in 0..<4 { store(s[k], st, Self.rng + 8 * k) }
            ir.ret(result)
            b.finish()
        }

        // i32 NAME_gen.order(const pair *a, const pair *b): probability descending, then id ascending
        // (the order of a stable sort by probability, as `DecodingLoop.sample`'s).
        let (order, _) = declare("\(g).order", i32, [ptr, ptr], isInternal: true)
        do {
            let b = Body(ir, order)
            let pa = ir.load(f32, b.param(0)), pb = ir.load(f32, b.param(1))
            let ia = ir.load(i32, ir.gep(ir.i8, b.param(0), ir.int(4))), ib = ir.load(i32, ir.gep(ir.i8, b.param(1), ir.int(4)))
            let byIndex = ir.select(ir.icmp(LLVMIntSLT, ia, ib), ir.int32(-1), ir.select(ir.icmp(LLVMIntSGT, ia, ib), ir.int32(1), ir.int32(0)))
            ir.ret(ir.select(ir.fcmp(LLVMRealOGT, pa, pb), ir.int32(-1), ir.select(ir.fcmp(LLVMRealOLT, pa, pb), ir.int32(1), byIndex)))
            b.finish()
        }

        // i64 NAME_gen.pick(state): the next token from the logits (greedy, or `DecodingLoop.sample`).
        let (pick, pickT) = declare("\(g).pick", i64, [ptr], isInternal: true)
        do {
            let b = Body(ir, pick)
            let st = b.param(0)
            let logits = load(ptr, st, Self.logits)
            func logit(_ i: LLVMValueRef) -> LLVMValueRef { ir.load(f32, ir.gep(f32, logits, i)) }
            let greedy = ir.icmp(LLVMIntEQ, load(i64, st, Self.doSample), ir.int(0))
            b.ifThen(greedy) {
                // The first largest logit (torch.argmax).
                let best = b.variable(ir.int(0)), value = b.variable(logit(ir.int(0)))
                b.loop(ir.int(1), ir.int(V)) { i in
                    let v = logit(i)
                    b.ifThen(ir.fcmp(LLVMRealOGT, v, ir.load(f32, value))) { ir.store(i, best); ir.store(v, value) }
                }
                ir.ret(ir.load(i64, best))
            }
            // softmax(logits / temperature): the row max, exp(x − max), times 1 / sum.
            let pairs = load(ptr, st, Self.pairs)
            let temperature = load(f32, st, Self.temperature)
            func pFloat(_ j: LLVMValueRef) -> LLVMValueRef { ir.gep(ir.i8, pairs, ir.mul(j, ir.int(8))) }
            let maximum = b.variable(ir.float(-.infinity))
            b.loop(ir.int(0), ir.int(V)) { i in
                let x = ir.fdiv(logit(i), temperature)
                b.ifThen(ir.fcmp(LLVMRealOGT, x, ir.load(f32, maximum))) { ir.store(x, maximum) }
            }
            let m = ir.load(f32, maximum)
            let shift = ir.select(ir.fcmp(LLVMRealOEQ, m, ir.float(-.infinity)), ir.float(0), m)
            let sum = b.variable(ir.float(0))
            b.loop(ir.int(0), ir.int(V)) { i in
                let e = ir.call(expf, expfT, [ir.fsub(ir.fdiv(logit(i), temperature), shift)])
                ir.store(e, pFloat(i))
                ir.store(ir.trunc(i, i32), ir.gep(ir.i8, pFloat(i), ir.int(4)))
                ir.store(ir.fadd(ir.load(f32, sum), e), sum)
            }
            let scale = ir.fdiv(ir.float(1), ir.load(f32, sum))
            b.loop(ir.int(0), ir.int(V)) { i in ir.store(ir.fmul(ir.load(f32, pFloat(i)), scale), pFloat(i)) }
            ir.call(qsort, qsortT, [pairs, ir.int(V), ir.int(8), order])
            func p(_ j: LLVMValueRef) -> LLVMValueRef { ir.load(f32, pFloat(j)) }
            func token(_ j: LLVMValueRef) -> LLVMValueRef { ir.sext(ir.load(i32, ir.gep(ir.i8, pFloat(j), ir.int(4))), i64) }
            // top-k, then top-p: keep tokens until the kept mass reaches top_p of the total (at least one).
            let topK = load(i64, st, Self.topK)
            let n = b.variable(ir.select(ir.and(ir.icmp(LLVMIntSGT, topK, ir.int(0)), ir.icmp(LLVMIntSLT, topK, ir.int(V))), topK, ir.int(V)))
            func total() -> LLVMValueRef {
                let t = b.variable(ir.float(0))
                b.loop(ir.int(0), ir.load(i64, n)) { j in ir.store(ir.fadd(ir.load(f32, t), p(j)), t) }
                return ir.load(f32, t)
            }
            let topP = load(f32, st, Self.topP)
            b.ifThen(ir.fcmp(LLVMRealOLT, topP, ir.float(1))) {
                let limit = ir.fmul(topP, total())
                let kept = b.variable(ir.int(0)), mass = b.variable(ir.float(0))
                b.whileLoop({
                    let k = ir.load(i64, kept)
                    return ir.and(ir.icmp(LLVMIntSLT, k, ir.load(i64, n)),
                                  ir.or(ir.icmp(LLVMIntEQ, k, ir.int(0)), ir.fcmp(LLVMRealOLT, ir.load(f32, mass), limit)))
                }) {
                    let k = ir.load(i64, kept)
                    ir.store(ir.fadd(ir.load(f32, mass), p(k)), mass)
                    ir.store(ir.add(k, ir.int(1)), kept)
                }
                ir.store(ir.load(i64, kept), n)
            }
            // One uniform draw (24 random bits, `RandomGenerator.nextUnitFloat`) times the kept mass.
            let bits = lshr(ir.call(next, nextT, [st]), 40)
            let unit = ir.fmul(LLVMBuildUIToFP(ir.builder, bits, f32, "")!, ir.float(1.0 / 16_777_216.0))
            let draw = b.variable(ir.fmul(unit, total()))
            b.loop(ir.int(0), ir.load(i64, n)) { j in
                let d = ir.fsub(ir.load(f32, draw), p(j))
                ir.store(d, draw)
                b.returnIf(ir.fcmp(LLVMRealOLT, d, ir.float(0)), token(j))
            }
            ir.ret(token(ir.sub(ir.load(i64, n), ir.int(1))))
            b.finish()
        }

        // i32 NAME_gen.forward(state): the logits after the ids so far (prefill, or one decode step
        // against the cache), the cache then holding every position.
        let (forward, forwardT) = declare("\(g).forward", i32, [ptr], isInternal: true)
        do {
            let b = Body(ir, forward)
            let st = b.param(0)
            let model = load(ptr, st, Self.model)
            let pool = ir.load(ptr, api.poolSlot(model))
            let length = load(i64, st, Self.length), bound = load(i64, st, Self.bound)
            let ids = load(ptr, st, Self.ids), mask = load(ptr, st, Self.mask), positions = load(ptr, st, Self.positions)
            let dims = b.local(i64)
            let cache = load(ptr, st, Self.cache)
            /// Cache buffer `r` (layer r / 2, key or value) in `cache`.
            func region(_ cache: LLVMValueRef, _ r: Int) -> LLVMValueRef {
                ir.gep(f32, cache, ir.mul(ir.int(rows[..<r].reduce(0, +)), bound))
            }
            func call(_ entry: CAPI.Entry, table: Int, _ inputs: [String: LLVMValueRef], _ outputs: [String: LLVMValueRef]) -> LLVMValueRef {
                let inArray = b.local(ptr, count: entry.graph.inputNodes.count), outArray = b.local(ptr, count: entry.graph.outputs.count)
                for (i, node) in entry.graph.inputNodes.enumerated() {
                    if case .input(let n) = node.op { ir.store(inputs[n]!, ir.gep(ptr, inArray, ir.int(i))) }
                }
                for (i, o) in entry.graph.outputs.enumerated() { ir.store(outputs[o.name]!, ir.gep(ptr, outArray, ir.int(i))) }
                let constants = ir.gep(ptr, model, ir.int(table))
                return ir.call(ir.function(entry.signature.name, kernelType), kernelType,
                               [dims, inArray, outArray, constants, load(ptr, st, Self.workspace), pool])
            }
            func caches(_ prefix: String, _ cache: LLVMValueRef) -> [String: LLVMValueRef] {
                var out: [String: LLVMValueRef] = [:]
                for l in 0..<layout.layers {
                    out["\(prefix).\(l).key"] = region(cache, 2 * l)
                    out["\(prefix).\(l).value"] = region(cache, 2 * l + 1)
                }
                return out
            }
            let logits = load(ptr, st, Self.logits)
            let first = ir.icmp(LLVMIntEQ, load(i64, st, Self.fed), ir.int(0))
            b.ifThen(first) {
                ir.store(length, dims)
                let s = call(prefill, table: prefillTable, ["input_ids": ids, "attention_mask": mask, "position_ids": positions],
                             caches("present", cache).merging(["logits": logits]) { a, _ in a })
                b.returnIf(ir.icmp(LLVMIntNE, s, ir.int32(0)), s)
                store(length, st, Self.fed)
                ir.ret(status(.ok))
            }
            // One new token at position length − 1 against the `length − 1` cached ones.
            let last = ir.sub(length, ir.int(1))
            ir.store(last, dims)
            // One cache, read as the past and written as the present: the step appends in place.
            var inputs = caches("past", cache)
            inputs["input_ids"] = ir.gep(i64, ids, last)
            inputs["position_ids"] = ir.gep(i64, positions, last)
            inputs["past_attention_mask"] = mask
            let s = call(decode, table: decodeTable, inputs, caches("present", cache).merging(["logits": logits]) { a, _ in a })
            b.returnIf(ir.icmp(LLVMIntNE, s, ir.int32(0)), s)
            store(length, st, Self.fed)
            ir.ret(status(.ok))
            b.finish()
        }

        // void NAME_gen_destroy(NAME_gen *gen)
        let (destroy, destroyT) = declare("\(g)_destroy", ir.void, [ptr])
        do {
            let b = Body(ir, destroy)
            let st = b.param(0)
            b.ifThen(isNull(st)) { ir.ret() }
            for offset in [Self.ids, Self.mask, Self.positions, Self.workspace, Self.logits, Self.cache, Self.pairs] {
                ir.call(free, freeT, [load(ptr, st, offset)])
            }
            ir.call(free, freeT, [st])
            ir.ret()
            b.finish()
        }

        // int NAME_gen_create(const NAME_model *model, int64_t max_length, NAME_gen **gen)
        do {
            let b = Body(ir, declare("\(g)_create", i32, [ptr, i64, ptr]).0)
            let model = b.param(0), requested = b.param(1), out = b.param(2)
            b.returnIf(ir.or(isNull(model), isNull(out)), status(.invalidArgument))
            b.returnIf(ir.or(ir.icmp(LLVMIntSLT, requested, ir.int(0)), ir.icmp(LLVMIntSGT, requested, ir.int(layout.maxLength))),
                       status(.dimOutOfBounds))
            let bound = ir.select(ir.icmp(LLVMIntEQ, requested, ir.int(0)), ir.int(layout.maxLength), requested)
            let st = ir.call(calloc, callocT, [ir.int(1), ir.int(Self.stateBytes)])
            b.returnIf(isNull(st), status(.outOfMemory))
            let cacheBytes = ir.mul(ir.int(4 * rows.reduce(0, +)), bound)
            for (offset, bytes) in [(Self.ids, ir.mul(bound, ir.int(8))), (Self.mask, ir.mul(bound, ir.int(8))),
                                    (Self.positions, ir.mul(bound, ir.int(8))), (Self.logits, ir.int(4 * V)),
                                    (Self.cache, cacheBytes), (Self.pairs, ir.int(8 * V))] {
                store(ir.call(malloc, mallocT, [bytes]), st, offset)
            }
            store(ir.call(alignedAlloc, alignedAllocT, [ir.int(64), ir.int((workspaceBytes + 63) / 64 * 64)]), st, Self.workspace)
            var missing = ir.bool(false)
            for offset in [Self.ids, Self.mask, Self.positions, Self.workspace, Self.logits, Self.cache, Self.pairs] {
                missing = ir.or(missing, isNull(load(ptr, st, offset)))
            }
            b.ifThen(missing) {
                ir.call(destroy, destroyT, [st])
                ir.ret(status(.outOfMemory))
            }
            let mask = load(ptr, st, Self.mask), positions = load(ptr, st, Self.positions)
            b.loop(ir.int(0), bound) { i in
                ir.store(ir.int(1), ir.gep(i64, mask, i))
                ir.store(i, ir.gep(i64, positions, i))
            }
            store(model, st, Self.model)
            store(bound, st, Self.bound)
            store(ir.float(1), st, Self.temperature)
            store(ir.float(1), st, Self.topP)
            store(ir.int(layout.defaultStops.count), st, Self.stopCount)
            for (k, id) in layout.defaultStops.enumerated() { store(ir.int(id), st, Self.stops + 8 * k) }
            ir.call(seedRNG, seedRNGT, [st, ir.int(0)])
            ir.store(st, out)
            ir.ret(status(.ok))
            b.finish()
        }

        // int NAME_gen_set_greedy(NAME_gen *gen)
        do {
            let b = Body(ir, declare("\(g)_set_greedy", i32, [ptr]).0)
            b.returnIf(isNull(b.param(0)), status(.invalidArgument))
            store(ir.int(0), b.param(0), Self.doSample)
            ir.ret(status(.ok))
            b.finish()
        }

        // int NAME_gen_set_sampling(NAME_gen *gen, float temperature, int64_t top_k, float top_p, uint64_t seed)
        do {
            let b = Body(ir, declare("\(g)_set_sampling", i32, [ptr, f32, i64, f32, i64]).0)
            let st = b.param(0), temperature = b.param(1), topK = b.param(2), topP = b.param(3), seed = b.param(4)
            b.returnIf(isNull(st), status(.invalidArgument))
            let double = { (x: LLVMValueRef) in LLVMBuildFPExt(self.ir.builder, x, LLVMDoubleTypeInContext(self.ir.context), "")! }
            failIf(b, ir.or(ir.fcmp(LLVMRealULE, temperature, ir.float(0)), ir.fcmp(LLVMRealUEQ, temperature, ir.float(.infinity))), st,
                   .invalidArgument, "temperature must be positive and finite, got %g") { [double(temperature)] }
            failIf(b, ir.icmp(LLVMIntSLT, topK, ir.int(0)), st, .invalidArgument, "top_k must not be negative, got %lld") { [topK] }
            failIf(b, ir.or(ir.fcmp(LLVMRealULE, topP, ir.float(0)), ir.fcmp(LLVMRealUGT, topP, ir.float(1))), st,
                   .invalidArgument, "top_p must be in (0, 1], got %g") { [double(topP)] }
            store(ir.int(1), st, Self.doSample)
            store(temperature, st, Self.temperature)
            store(topK, st, Self.topK)
            store(topP, st, Self.topP)
            store(seed, st, Self.seed)
            ir.call(seedRNG, seedRNGT, [st, seed])
            ir.ret(status(.ok))
            b.finish()
        }

        /// Fails with 2 when an id of `ids[0..<count]` is outside the vocabulary.
        func checkIds(_ b: Body, _ st: LLVMValueRef, _ ids: LLVMValueRef, _ count: LLVMValueRef, _ what: String) {
            b.loop(ir.int(0), count) { i in
                let id = ir.load(i64, ir.gep(i64, ids, i))
                failIf(b, ir.or(ir.icmp(LLVMIntSLT, id, ir.int(0)), ir.icmp(LLVMIntSGE, id, ir.int(V))), st, .indexOutOfRange,
                       "\(what)[%lld] = %lld is outside the vocabulary 0..<\(V)") { [i, id] }
            }
        }

        // int NAME_gen_set_stop_tokens(NAME_gen *gen, const int64_t *ids, int64_t count)
        do {
            let b = Body(ir, declare("\(g)_set_stop_tokens", i32, [ptr, ptr, i64]).0)
            let st = b.param(0), ids = b.param(1), count = b.param(2)
            b.returnIf(isNull(st), status(.invalidArgument))
            failIf(b, ir.or(ir.icmp(LLVMIntSLT, count, ir.int(0)), ir.icmp(LLVMIntSGT, count, ir.int(Layout.maxStops))), st,
                   .invalidArgument, "%lld stop tokens: give 0 to \(Layout.maxStops)") { [count] }
            failIf(b, ir.and(ir.icmp(LLVMIntSGT, count, ir.int(0)), isNull(ids)), st, .invalidArgument, "stop token ids are NULL")
            checkIds(b, st, ids, count, "stop_tokens")
            b.loop(ir.int(0), count) { i in
                ir.store(ir.load(i64, ir.gep(i64, ids, i)), ir.gep(i64, field(st, Self.stops), i))
            }
            store(count, st, Self.stopCount)
            ir.ret(status(.ok))
            b.finish()
        }

        // int NAME_gen_prompt(NAME_gen *gen, const int64_t *ids, int64_t count)
        do {
            let b = Body(ir, declare("\(g)_prompt", i32, [ptr, ptr, i64]).0)
            let st = b.param(0), ids = b.param(1), count = b.param(2)
            b.returnIf(isNull(st), status(.invalidArgument))
            failIf(b, isNull(ids), st, .invalidArgument, "the prompt ids are NULL")
            failIf(b, ir.icmp(LLVMIntSLT, count, ir.int(1)), st, .invalidArgument, "the prompt is empty (%lld tokens)") { [count] }
            let bound = load(i64, st, Self.bound)
            failIf(b, ir.icmp(LLVMIntSGT, count, bound), st, .dimOutOfBounds,
                   "a prompt of %lld tokens exceeds the length bound %lld") { [count, bound] }
            checkIds(b, st, ids, count, "prompt")
            let own = load(ptr, st, Self.ids)
            b.loop(ir.int(0), count) { i in ir.store(ir.load(i64, ir.gep(i64, ids, i)), ir.gep(i64, own, i)) }
            store(count, st, Self.length)
            store(ir.int(0), st, Self.fed)
            ir.call(seedRNG, seedRNGT, [st, load(i64, st, Self.seed)])
            ir.ret(status(.ok))
            b.finish()
        }

        // int NAME_gen_step(NAME_gen *gen, int64_t *token)
        let (step, stepT) = declare("\(g)_step", i32, [ptr, ptr])
        do {
            let b = Body(ir, step)
            let st = b.param(0), out = b.param(1)
            b.returnIf(isNull(st), status(.invalidArgument))
            let length = load(i64, st, Self.length), bound = load(i64, st, Self.bound)
            failIf(b, ir.icmp(LLVMIntEQ, length, ir.int(0)), st, .invalidArgument, "no prompt: call \(g)_prompt first")
            failIf(b, ir.icmp(LLVMIntSGE, length, bound), st, .dimOutOfBounds,
                   "the sequence holds %lld tokens, the length bound %lld: no room for another") { [length, bound] }
            let s = ir.call(forward, forwardT, [st])
            failIf(b, ir.icmp(LLVMIntNE, s, ir.int32(0)), st, .indexOutOfRange, "the model rejected an index (status %d)") { [s] }
            let token = ir.call(pick, pickT, [st])
            ir.store(token, ir.gep(i64, load(ptr, st, Self.ids), length))
            store(ir.add(length, ir.int(1)), st, Self.length)
            b.ifThen(ir.icmp(LLVMIntNE, LLVMBuildPtrToInt(ir.builder, out, i64, ""), ir.int(0))) { ir.store(token, out) }
            ir.ret(status(.ok))
            b.finish()
        }

        // int NAME_gen_run(NAME_gen *gen, int64_t max_new_tokens, NAME_gen_callback callback, void *user,
        //                  int64_t *generated)
        do {
            let b = Body(ir, declare("\(g)_run", i32, [ptr, i64, ptr, ptr, ptr]).0)
            let st = b.param(0), maxNew = b.param(1), callback = b.param(2), user = b.param(3), generated = b.param(4)
            b.returnIf(isNull(st), status(.invalidArgument))
            let hasCount = ir.icmp(LLVMIntNE, LLVMBuildPtrToInt(ir.builder, generated, i64, ""), ir.int(0))
            b.ifThen(hasCount) { ir.store(ir.int(0), generated) }
            let length = load(i64, st, Self.length), bound = load(i64, st, Self.bound)
            failIf(b, ir.icmp(LLVMIntEQ, length, ir.int(0)), st, .invalidArgument, "no prompt: call \(g)_prompt first")
            failIf(b, ir.icmp(LLVMIntSLT, maxNew, ir.int(0)), st, .invalidArgument, "max_new_tokens must not be negative, got %lld") { [maxNew] }
            failIf(b, ir.icmp(LLVMIntSGT, maxNew, ir.sub(bound, length)), st, .dimOutOfBounds,
                   "%lld tokens (prompt and earlier steps) + %lld new tokens exceed the length bound %lld") { [length, maxNew, bound] }
            let token = b.local(i64)
            let callbackType = ir.functionType(i32, [i64, ptr])
            b.loop(ir.int(0), maxNew) { i in
                let s = ir.call(step, stepT, [st, token])
                b.returnIf(ir.icmp(LLVMIntNE, s, ir.int32(0)), s)
                b.ifThen(hasCount) { ir.store(ir.add(i, ir.int(1)), generated) }
                let t = ir.load(i64, token)
                b.ifThen(ir.icmp(LLVMIntNE, LLVMBuildPtrToInt(ir.builder, callback, i64, ""), ir.int(0))) {
                    let stop = ir.call(callback, callbackType, [t, user])
                    b.returnIf(ir.icmp(LLVMIntNE, stop, ir.int32(0)), status(.ok))
                }
                b.loop(ir.int(0), load(i64, st, Self.stopCount)) { k in
                    b.returnIf(ir.icmp(LLVMIntEQ, ir.load(i64, ir.gep(i64, field(st, Self.stops), k)), t), status(.ok))
                }
            }
            ir.ret(status(.ok))
            b.finish()
        }

        // int64_t NAME_gen_length(const NAME_gen *gen)
        do {
            let b = Body(ir, declare("\(g)_length", i64, [ptr]).0)
            b.returnIf(isNull(b.param(0)), ir.int(-1))
            ir.ret(load(i64, b.param(0), Self.length))
            b.finish()
        }

        // int NAME_gen_ids(const NAME_gen *gen, int64_t *ids, int64_t capacity)
        do {
            let b = Body(ir, declare("\(g)_ids", i32, [ptr, ptr, i64]).0)
            let st = b.param(0), out = b.param(1), capacity = b.param(2)
            b.returnIf(ir.or(isNull(st), isNull(out)), status(.invalidArgument))
            let length = load(i64, st, Self.length)
            b.returnIf(ir.icmp(LLVMIntSLT, capacity, length), status(.invalidArgument))
            let own = load(ptr, st, Self.ids)
            b.loop(ir.int(0), length) { i in ir.store(ir.load(i64, ir.gep(i64, own, i)), ir.gep(i64, out, i)) }
            ir.ret(status(.ok))
            b.finish()
        }

        // int NAME_gen_reset(NAME_gen *gen)
        do {
            let b = Body(ir, declare("\(g)_reset", i32, [ptr]).0)
            let st = b.param(0)
            b.returnIf(isNull(st), status(.invalidArgument))
            store(ir.int(0), st, Self.length)
            store(ir.int(0), st, Self.fed)
            ir.store(ir.byte(0), field(st, Self.error))
            ir.call(seedRNG, seedRNGT, [st, load(i64, st, Self.seed)])
            ir.ret(status(.ok))
            b.finish()
        }

        // const char *NAME_gen_last_error(const NAME_gen *gen)
        do {
            let b = Body(ir, declare("\(g)_last_error", ptr, [ptr]).0)
            b.returnIf(isNull(b.param(0)), string("NULL generation state"))
            ir.ret(field(b.param(0), Self.error))
            b.finish()
        }
    }

    /// The declarations `NAME.h` gets for the generation API.
    static func header(name: String, layout: Layout) -> String {
        let up = name.uppercased()
        return """

        /* ---- Generation: a state per sequence (batch 1) with its own KV cache ---- */
        #define \(up)_GEN_MAX_LENGTH \(layout.maxLength)   /* compiled bound on prompt + new tokens */
        #define \(up)_GEN_VOCAB_SIZE \(layout.vocabulary)
        #define \(up)_GEN_MAX_STOP_TOKENS \(Layout.maxStops)
        /* Stop tokens a new state starts with (the checkpoint's EOS ids): \(layout.defaultStops.isEmpty ? "none" : layout.defaultStops.map(String.init).joined(separator: ", ")) */

        typedef struct \(name)_gen \(name)_gen;

        /* Called with each new token as it is generated; return nonzero to stop. */
        typedef int (*\(name)_gen_callback)(int64_t token, void *user);

        /* A state for one sequence of at most max_length tokens (0: \(up)_GEN_MAX_LENGTH; negative or above it: 3),
         * greedy, with the default stop tokens. The model must outlive it. */
        int \(name)_gen_create(const \(name)_model *model, int64_t max_length, \(name)_gen **gen);

        /* Releases a state (NULL is ignored). */
        void \(name)_gen_destroy(\(name)_gen *gen);

        /* Greedy decoding (the default): the first largest logit. */
        int \(name)_gen_set_greedy(\(name)_gen *gen);

        /* Sampling from softmax(logits / temperature) after top-k (0: off) and top-p (1: off), drawn
         * with xoshiro256** seeded by seed (the same tokens as TCompile's eager and JIT generate).
         * temperature > 0, top_k >= 0, 0 < top_p <= 1, else 1. Reseeds the state's generator. */
        int \(name)_gen_set_sampling(\(name)_gen *gen, float temperature, int64_t top_k, float top_p, uint64_t seed);

        /* Replaces the stop tokens (0 to \(up)_GEN_MAX_STOP_TOKENS ids in the vocabulary). */
        int \(name)_gen_set_stop_tokens(\(name)_gen *gen, const int64_t *ids, int64_t count);

        /* Starts a sequence: copies 1 ... max_length prompt ids (each in the vocabulary, else 2),
         * clears the cache and reseeds the generator. No model work happens here. */
        int \(name)_gen_prompt(\(name)_gen *gen, const int64_t *ids, int64_t count);

        /* Appends one token (stored in *token unless NULL): runs the prompt through the model the
         * first time, then one position per step. 3 when the sequence is at its length bound. */
        int \(name)_gen_step(\(name)_gen *gen, int64_t *token);

        /* Steps until max_new_tokens new tokens, a stop token (kept in the ids), or a nonzero return of
         * callback (may be NULL), which sees every token first. Refuses with 3 before any work when the
         * sequence + max_new_tokens exceeds the length bound. *generated (unless NULL) counts the new tokens. */
        int \(name)_gen_run(\(name)_gen *gen, int64_t max_new_tokens, \(name)_gen_callback callback, void *user,
                            int64_t *generated);

        /* Tokens in the sequence (prompt first), or -1 for NULL. */
        int64_t \(name)_gen_length(const \(name)_gen *gen);

        /* Copies the sequence's ids (prompt first) into ids[0 .. length); 1 when capacity < length. */
        int \(name)_gen_ids(const \(name)_gen *gen, int64_t *ids, int64_t capacity);

        /* Forgets the sequence (keeps the sampling settings and stop tokens; reseeds). */
        int \(name)_gen_reset(\(name)_gen *gen);

        /* The message of this state's last failed call, naming the values ("" before any). */
        const char *\(name)_gen_last_error(const \(name)_gen *gen);

        """
    }
}
