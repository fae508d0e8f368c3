import COpenBLAS

/// The number of threads OpenBLAS uses for the matrix products of eager and compiled code.
public enum BLASThreads {
    /// Sets the thread count (`openblas_set_num_threads`); at least 1.
    public static func set(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
    /// The current thread count.
    public static var current: Int { Int(openblas_get_num_threads()) }
}
