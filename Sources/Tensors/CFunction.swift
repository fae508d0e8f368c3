import Foundation

/// C library functions that Swift's Glibc module does not declare (`copy_file_range`, `renameat2`,
/// `backtrace`, `dladdr`) or that a library may lack (OpenBLAS's `blas_thread_shutdown_`), looked up in
/// the running process: one lookup, with the caller's check for a missing one, in place of a
/// `dlsym` and a cast at each use.
package enum CFunction {
    /// The process's function `name` as `type` (a `@convention(c)` function type), or nil when no
    /// loaded library defines it.
    package static func named<F>(_ name: String, as type: F.Type) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }   // RTLD_DEFAULT
        return unsafeBitCast(symbol, to: type)
    }
}
