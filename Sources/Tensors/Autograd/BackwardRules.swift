/// The gradient of every differentiable primitive op, written with tensor ops (run under no-grad).
enum BackwardRules {
    /// Gradients of the node's inputs given the gradient `g` of its output (nil: no gradient).
    static func gradients(_ node: GradNode, _ g: Tensor) -> [Tensor?] {
        let x = node.inputs
        let y = node.output
        switch node.op {
        case .unary(let u):
            return [unary(u, x[0], y, g)]
        case .binary(let b):
            return binary(b, x[0], x[1], y, g).enumerated().map { i, t in t?.summed(to: x[i].shape) }
        case .binaryScalar(let b, let s, let scalarFirst):
            return [binaryScalar(b, x[0], Float(s), scalarFirst, y, g)]
        case .reduce(let r, let dims, let keepDim):
            return [reduce(r, x[0], dims, keepDim, y, g)]
        case .softmax(let dim):
            return [y * (g - (g * y).sum(dim: dim, keepDim: true))]
        case .logSoftmax(let dim):
            return [g - y.exp() * g.sum(dim: dim, keepDim: true)]
        case .matmul:
            let ga = g.matmul(x[1].transposed(-1, -2)).summed(to: x[0].shape)
            let gb = x[0].transposed(-1, -2).matmul(g).summed(to: x[1].shape)
            return [ga, gb]
        case .attention:
            return attention(x, g)
        case .layerNorm(let rank, let eps, let affine):
            return layerNorm(x, rank: rank, eps: eps, affine: affine, g)
        case .reshape:
            return [g.reshaped(x[0].shape)]
        case .permute(let perm):
            var inverse = perm
            for (i, p) in perm.enumerated() { inverse[p] = i }
            return [g.permuted(inverse)]
        case .expand:
            return [g.summed(to: x[0].shape)]
        case .slice(let dim, let start, let end, let step):
            let out = Tensor.zeros(x[0].shape)
            ElementwiseKernels.copy(g, into: out.slicedView(dim: dim, start: start, end: end, step: step))
            return [out]
        case .concat(let dim):
            var start = 0
            return x.map { t in
                defer { start += t.shape[dim] }
                return g.sliced(dim: dim, start: start, end: start + t.shape[dim])
            }
        case .indexSelect(let dim):
            return [IndexKernels.indexAdd(g, shape: x[0].shape, dim: dim, index: x[1]), nil]
        case .gather(let dim):
            return [IndexKernels.scatterAdd(g, shape: x[0].shape, dim: dim, index: x[1]), nil]
        case .select:
            let zero = Tensor.zeros([])
            return [nil, Tensor.where(x[0], g, zero).summed(to: x[1].shape),
                    Tensor.where(x[0], zero, g).summed(to: x[2].shape)]
        case .cast:
            return [x[0].dtype == .float32 ? g : nil]
        case .contiguous:
            return [g]
        case .fill, .arange:
            return []
        }
    }

    private static func unary(_ op: UnaryOp, _ x: Tensor, _ y: Tensor, _ g: Tensor) -> Tensor? {
        switch op {
        case .neg: return -g
        case .exp: return g * y
        case .log: return g / x
        case .sqrt: return g * 0.5 / y
        case .rsqrt: return g * (-0.5) * y * y * y
        case .abs: return g * ((x .> 0).cast(to: .float32) - (x .< 0).cast(to: .float32))
        case .tanh: return g * (1 - y * y)
        case .erf: return g * (x.square() * -1).exp() * Float(2 / Double.pi.squareRoot())
        case .relu: return g * (x .> 0).cast(to: .float32)
        case .sigmoid: return g * y * (1 - y)
        case .gelu:
            let cdf = 0.5 * (1 + (x * Float(0.5.squareRoot())).erf())
            let pdf = (x.square() * -0.5).exp() * Float(1 / (2 * Double.pi).squareRoot())
            return g * (cdf + x * pdf)
        case .geluTanh:
            let c = Float((2 / Double.pi).squareRoot())
            let t = ((x + x * x * x * 0.044715) * c).tanh()
            let dInner = (1 + x * x * (3 * 0.044715)) * c
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dInner)
        case .sin: return g * x.cos()
        case .cos: return -(g * x.sin())
        case .logicalNot: return nil
        }
    }

    private static func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ g: Tensor) -> [Tensor?] {
        switch op {
        case .add: return [g, g]
        case .sub: return [g, -g]
        case .mul: return [g * b, g * a]
        case .div: return [g / b, -(g * a) / (b * b)]
        case .pow:
            // d/db a^b = a^b · ln a, taken as 0 where a = 0 (as PyTorch).
            let logA = Tensor.where(a .== 0, Tensor.zeros([]), a.log())
            return [g * b * a.pow(b - 1), g * y * logA]
        case .maximum, .minimum:
            let wins = (op == .maximum ? a .> b : a .< b).cast(to: .float32)
            let ties = (a .== b).cast(to: .float32) * 0.5
            return [g * (wins + ties), g * (1 - wins - ties)]
        default: return [nil, nil]
        }
    }

    private static func binaryScalar(_ op: BinaryOp, _ x: Tensor, _ s: Float, _ scalarFirst: Bool,
                                     _ y: Tensor, _ g: Tensor) -> Tensor? {
        switch op {
        case .add: return g
        case .sub: return scalarFirst ? -g : g
        case .mul: return g * s
        case .div: return scalarFirst ? -(g * s) / (x * x) : g / s
        case .pow: return scalarFirst ? g * y * libmLog(s) : g * s * x.pow(s - 1)
        case .maximum, .minimum:
            let wins = (op == .maximum ? x .> s : x .< s).cast(to: .float32)
            return g * (wins + (x .== s).cast(to: .float32) * 0.5)
        default: return nil
        }
    }

    private static func reduce(_ op: ReduceOp, _ x: Tensor, _ dims: [Int], _ keepDim: Bool,
                               _ y: Tensor, _ g: Tensor) -> Tensor? {
        let keptShape = ReduceKernels.reducedShape(x.shape, dims: dims, keepDim: true)
        let gk = g.reshaped(keptShape)
        switch op {
        case .sum: return gk.expanded(to: x.shape).contiguous()
        case .mean:
            let n = dims.reduce(1) { $0 * x.shape[$1] }
            return (gk / Float(n)).expanded(to: x.shape).contiguous()
        case .max, .min:
            // Split evenly between tied extremes, as torch.amax.
            let hits = (x .== y.reshaped(keptShape)).cast(to: .float32)
            return gk * hits / hits.sum(dims: dims, keepDim: true)
        case .argmax, .argmin: return nil
        }
    }

    private static func layerNorm(_ x: [Tensor], rank: Int, eps: Double, affine: Bool, _ g: Tensor) -> [Tensor?] {
        let input = x[0]
        let dims = Array((input.rank - rank)..<input.rank)
        let mean = input.mean(dims: dims, keepDim: true)
        let centered = input - mean
        let rstd = (centered.square().mean(dims: dims, keepDim: true) + Float(eps)).rsqrt()
        let normalized = centered * rstd
        let gHat = affine ? g * x[1] : g
        let dx = rstd * (gHat - gHat.mean(dims: dims, keepDim: true)
                         - normalized * (gHat * normalized).mean(dims: dims, keepDim: true))
        guard affine else { return [dx] }
        let batchDims = Array(0..<(input.rank - rank))
        let dw = (g * normalized).sum(dims: batchDims)
        let db = g.sum(dims: batchDims)
        return [dx, dw, db]
    }

    /// Attention's gradients by recomputing the probabilities `P = softmax(q·kᵀ + m)`:
    /// `dV = Pᵀ·g`, `dS = P ⊙ (g·vᵀ − rowsum(g·vᵀ ⊙ P))`, `dQ = dS·k`, `dK = dSᵀ·q`, `dM = dS`.
    static func attention(_ x: [Tensor], _ g: Tensor) -> [Tensor?] {
        let (q, k, v) = (x[0], x[1], x[2])
        var scores = q.matmul(k.transposed(-1, -2))
        if x.count > 3 { scores = scores + x[3] }
        let p = scores.softmax(dim: -1)
        let gv = p.transposed(-1, -2).matmul(g).summed(to: v.shape)
        let gp = g.matmul(v.transposed(-1, -2))
        let gs = p * (gp - (gp * p).sum(dim: -1, keepDim: true))
        let gq = gs.matmul(k).summed(to: q.shape)
        let gk = gs.transposed(-1, -2).matmul(q).summed(to: k.shape)
        return [gq, gk, gv] + (x.count > 3 ? [x[3].dtype == .float32 ? gs.summed(to: x[3].shape) : nil] : [])
    }
}

extension Tensor {
    /// This gradient summed over broadcast dims back to `shape` (the adjoint of broadcasting).
    func summed(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var dims = Array(0..<lead)
        for (i, d) in target.enumerated() where d == 1 && shape[i + lead] != 1 { dims.append(i + lead) }
        let reduced = dims.isEmpty ? self : sum(dims: dims, keepDim: true)
        return reduced.reshaped(target)
    }
}
