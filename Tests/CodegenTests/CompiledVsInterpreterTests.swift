import Foundation
import Testing
import Graph
import Tensors
@testable import Codegen

/// Checks compiled results against the interpreter (the oracle) on the same inputs.
func expectCompiledMatches(_ graph: Graph, _ inputSets: [[String: Tensor]], atol: Float = 1e-4,
                           sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let compiled = try CompiledModel(graph: graph, name: "test")
    let interpreter = Interpreter(graph: graph)
    for inputs in inputSets {
        let expected = try interpreter.run(inputs)
        let actual = try compiled(inputs)
        for (name, e) in expected {
            let a = try #require(actual[name], sourceLocation: sourceLocation)
            #expect(a.shape == e.shape && a.dtype == e.dtype, "\(name): \(a.shape) \(a.dtype) vs \(e.shape) \(e.dtype)", sourceLocation: sourceLocation)
            let x = a.toFloatArray(), y = e.toFloatArray()
            guard x.count == y.count else { continue }
            var worst: Float = 0, at = 0
            for i in 0..<x.count {
                let d = (x[i].isNaN && y[i].isNaN) || x[i] == y[i] ? 0 : Swift.abs(x[i] - y[i]) / (1 + Swift.abs(y[i]))
                if d > worst || d.isNaN { worst = d.isNaN ? .infinity : d; at = i }
            }
            #expect(worst <= atol, "\(name): element \(at) is \(x.isEmpty ? 0 : x[at]), interpreter \(y.isEmpty ? 0 : y[at])", sourceLocation: sourceLocation)
        }
    }
}

/// A one-input graph of `op` traced from eager code, dynamic in dim 0 and 1.
func traced(_ shape: [Int], dtype: DType = .float32, seed: UInt64 = 1,
            _ body: @escaping (Tensor) -> Tensor) throws -> (Graph, [[String: Tensor]]) {
    func make(_ s: [Int], _ seed: UInt64) -> Tensor {
        switch dtype {
        case .float32: Tensor.randn(s, seed: seed)
        case .bool: Tensor.randn(s, seed: seed) .> 0
        default: Tensor.randint(-5, 6, shape: s, seed: seed).cast(to: dtype)
        }
    }
    let graph = try Tracer.trace(inputs: [("x", make(shape, seed))],
                                 dynamicDims: [DynamicDim(input: "x", dim: 0, symbol: "a", max: 16),
                                               DynamicDim(input: "x", dim: 1, symbol: "b", max: 16)]) { [("y", body($0["x"]!))] }
    var sets: [[String: Tensor]] = []
    for (k, dims) in [[2, 3], [1, 7], [5, 1], [16, 16]].enumerated() {
        var s = shape
        s[0] = dims[0]; s[1] = dims[1]
        sets.append(["x": make(s, seed + UInt64(k) + 10)])
    }
    return (graph, sets)
}

@Suite struct CompiledVsInterpreterTests {
    @Test(arguments: UnaryOp.allCases.filter { $0 != .logicalNot })
    func unary(_ op: UnaryOp) throws {
        let positive = [UnaryOp.log, .sqrt, .rsqrt].contains(op)
        let (g, sets) = try traced([3, 4, 5]) { x in Tensor.apply(.unary(op), [positive ? x.abs() + 0.1 : x * 3]) }
        try expectCompiledMatches(g, sets)
    }

    @Test(arguments: BinaryOp.allCases.filter { !$0.isLogical })
    func binaryWithBroadcast(_ op: BinaryOp) throws {
        let w = Tensor.randn([5], seed: 9)
        let (g, sets) = try traced([3, 4, 5]) { x in Tensor.apply(.binary(op), [op == .pow ? x.abs() + 0.5 : x, w]) }
        try expectCompiledMatches(g, sets)
        let (gi, setsi) = try traced([3, 4, 5], dtype: .int64) { x in Tensor.apply(.binary(op), [x, x.sliced(dim: 2, start: 1, end: 2)]) }
        try expectCompiledMatches(gi, setsi)
    }

    @Test func scalarsLogicSelectCast() throws {
        for scalarFirst in [false, true] {
            for op in [BinaryOp.add, .sub, .mul, .div, .maximum, .less] {
                let (g, sets) = try traced([2, 3]) { x in Tensor.apply(.binaryScalar(op, scalar: 1.5, scalarFirst: scalarFirst), [x]) }
                try expectCompiledMatches(g, sets)
                let (gi, setsi) = try traced([2, 3], dtype: .int32) { x in Tensor.apply(.binaryScalar(op, scalar: 2, scalarFirst: scalarFirst), [x]) }
                try expectCompiledMatches(gi, setsi)
            }
        }
        let (g, sets) = try traced([3, 4]) { x in Tensor.where((x .> 0) .& .!(x .> 1), x, x * -2).cast(to: .int64).cast(to: .float32) }
        try expectCompiledMatches(g, sets)
    }

    @Test func viewsAndCopies() throws {
        let (g, sets) = try traced([3, 4, 6]) { x in
            let t = x.transposed(0, 2).sliced(dim: 0, start: 1, end: 5, step: 2)
            let e = x.sliced(dim: 2, start: 0, end: 1).expanded(to: [-1, -1, 3])
            return Tensor.concat([t.transposed(0, 2).contiguous().reshaped([x.size(0), -1]), e.reshaped([x.size(0), -1])], dim: 1)
        }
        try expectCompiledMatches(g, sets)
    }

    /// Copies whose rows have unit stride on both sides go through `memmove`: a whole block when the
    /// last two dims are back to back on both sides (concat along dim 1, a cache grown by one position),
    /// row by row otherwise (concat along the last dim, a slice of columns); 1-D and int tensors too.
    @Test func rowCopies() throws {
        for dim in 0..<3 {
            let (g, sets) = try traced([3, 4, 5]) { x in Tensor.concat([x, x.sliced(dim: dim, start: 0, end: 1) * 2, x], dim: dim) }
            try expectCompiledMatches(g, sets)
        }
        let (columns, columnSets) = try traced([3, 4, 6]) { x in x.sliced(dim: 2, start: 1, end: 4).contiguous() + 1 }
        try expectCompiledMatches(columns, columnSets)
        let (flat, flatSets) = try traced([5, 3]) { x in Tensor.concat([x.reshaped([-1]), x.reshaped([-1]) * 3], dim: 0) }
        try expectCompiledMatches(flat, flatSets)
        let (ints, intSets) = try traced([3, 4], dtype: .int64) { x in Tensor.concat([x, x], dim: 1) }
        try expectCompiledMatches(ints, intSets)
    }

    @Test func reductions() throws {
        for op in ReduceOp.allCases {
            for dims in [[1], [0, 2], [2]] {
                for keep in [false, true] {
                    let (g, sets) = try traced([3, 4, 5]) { x in Tensor.apply(.reduce(op, dims: dims, keepDim: keep), [x.transposed(1, 2).contiguous().transposed(1, 2)]) }
                    try expectCompiledMatches(g, sets)
                }
            }
        }
    }

    @Test func softmaxLayerNormMatmul() throws {
        let (g, sets) = try traced([2, 3, 7]) { x in x.softmax(dim: -1) + x.logSoftmax(dim: 1) }
        try expectCompiledMatches(g, sets)
        let w = Tensor.randn([7], seed: 3), b = Tensor.randn([7], seed: 4)
        let (g2, sets2) = try traced([2, 3, 7]) { x in x.layerNorm(weight: w, bias: b, eps: 1e-12) + x.transposed(0, 1).layerNorm(normalizedRank: 2).transposed(0, 1) }
        try expectCompiledMatches(g2, sets2)
        let m = Tensor.randn([7, 5], seed: 5)
        let (g3, sets3) = try traced([2, 3, 7]) { x in
            let h = x.matmul(m)                          // stack × matrix
            let s = x.matmul(x.transposed(-1, -2))       // batched, transposed operand
            return h.sum(dim: -1, keepDim: true) + s.sum(dim: -1, keepDim: true) + m.transposed().matmul(x.transposed(-1, -2)).sum(dim: 1).unsqueezed(at: -1)
        }
        try expectCompiledMatches(g3, sets3)
    }

    @Test func indexingAndCreation() throws {
        let table = Tensor.randn([11, 4], seed: 6)
        let (g, sets) = try traced([2, 3], dtype: .int64) { ids in
            let safe = ids.abs()
            let rows = table.indexSelect(dim: 0, index: safe)
            let picked = rows.gather(dim: 2, index: Tensor.zeros(rows.shape.dropLast() + [1], dtype: .int64) + (safe.unsqueezed(at: -1) .> 2).cast(to: .int64))
            let positions = Tensor.arange(ids.size(1)).cast(to: .float32)
            return picked.squeezed(at: -1) + positions + Tensor.full([ids.size(0), 1], 0.5)
        }
        try expectCompiledMatches(g, sets)
    }

    @Test func outOfRangeIdsAreAnErrorNotACrash() throws {
        let table = Tensor.randn([4, 2], seed: 6)
        let graph = try Tracer.trace(inputs: [("ids", Tensor([1, 2], shape: [1, 2]))],
                                     dynamicDims: [DynamicDim(input: "ids", dim: 1, symbol: "seq", max: 8)]) { [("y", table.indexSelect(dim: 0, index: $0["ids"]!))] }
        let compiled = try CompiledModel(graph: graph)
        #expect(throws: CodegenError.self) { try compiled(["ids": Tensor([1, 9], shape: [1, 2])]) }
        #expect(try compiled(["ids": Tensor([3, 0], shape: [1, 2])])["y"]!.toFloatArray() == table.indexSelect(dim: 0, index: Tensor([3, 0])).toFloatArray())
    }
}
