// Times eager tensor kernels in release: matmul at BERT shapes against a direct cblas_sgemm call on
// the same buffers in the same process, and elementwise/softmax over 1M floats (compared with NumPy by
// run-tensors.sh). Prints one JSON object per workload.
//
//   TensorThroughput THREADS REPS
import CBLASDirect
import Foundation
import Tensors

let arguments = CommandLine.arguments
let threads = arguments.count > 1 ? Int(arguments[1]) ?? 1 : 1
let reps = arguments.count > 2 ? Int(arguments[2]) ?? 20 : 20
openblas_set_num_threads(Int32(threads))

/// Median milliseconds of `reps` runs of `body` after two warm-ups.
func median(_ body: () -> Void) -> (median: Double, min: Double, max: Double) {
    body(); body()
    var times: [Double] = []
    for _ in 0..<reps {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    times.sort()
    return (times[times.count / 2], times.first!, times.last!)
}

func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(data: data, encoding: .utf8)!)
}

// MARK: matmul vs cblas_sgemm

struct MatmulCase { let name: String; let batch: Int; let m: Int; let k: Int; let n: Int }
let matmuls = [
    MatmulCase(name: "matmul_128x768x768", batch: 1, m: 128, k: 768, n: 768),
    MatmulCase(name: "matmul_128x768x3072", batch: 1, m: 128, k: 768, n: 3072),
    MatmulCase(name: "matmul_batched_12x128x64x128", batch: 12, m: 128, k: 64, n: 128),
]
withNoGrad {
    for c in matmuls {
        let aShape = c.batch == 1 ? [c.m, c.k] : [c.batch, c.m, c.k]
        let bShape = c.batch == 1 ? [c.k, c.n] : [c.batch, c.k, c.n]
        let a = Tensor.randn(aShape, seed: 1), b = Tensor.randn(bShape, seed: 2)
        let ours = median { _ = a.matmul(b) }
        let out = UnsafeMutablePointer<Float>.allocate(capacity: c.batch * c.m * c.n)
        defer { out.deallocate() }
        let pa = a.pointer(as: Float.self), pb = b.pointer(as: Float.self)
        let direct = median {
            for i in 0..<c.batch {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(c.m), Int32(c.n), Int32(c.k), 1,
                            pa + i * c.m * c.k, Int32(c.k), pb + i * c.k * c.n, Int32(c.n), 0,
                            out + i * c.m * c.n, Int32(c.n))
            }
        }
        let flops = 2.0 * Double(c.batch * c.m * c.k * c.n)
        emit(["workload": c.name, "threads": threads, "ours_ms": ours.median, "ours_min_ms": ours.min, "ours_max_ms": ours.max,
              "cblas_ms": direct.median, "cblas_min_ms": direct.min, "cblas_max_ms": direct.max,
              "ours_gflops": flops / ours.median / 1e6, "cblas_gflops": flops / direct.median / 1e6])
    }

    // MARK: elementwise and softmax over 1M floats (one thread: NumPy's elementwise ops are single-threaded)

    let n = 1 << 20
    let x = Tensor.randn([n], seed: 3), y = Tensor.randn([n], seed: 4)
    let rows = x.reshaped([1024, 1024])
    let workloads: [(String, () -> Void)] = [
        ("add_1M", { _ = x + y }),
        ("mul_1M", { _ = x * y }),
        ("exp_1M", { _ = x.exp() }),
        ("tanh_1M", { _ = x.tanh() }),
        ("relu_1M", { _ = x.relu() }),
        ("sigmoid_1M", { _ = x.sigmoid() }),
        ("softmax_1024x1024", { _ = rows.softmax(dim: -1) }),
    ]
    for (name, body) in workloads {
        let t = median(body)
        emit(["workload": name, "threads": 1, "ours_ms": t.median, "ours_min_ms": t.min, "ours_max_ms": t.max])
    }
}
