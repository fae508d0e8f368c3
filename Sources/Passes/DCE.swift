import Graph

/// Dead-code elimination: nodes nothing reads, and constants no node names, go. (The rewrite engine
/// sweeps after every pass; this pass is the sweep alone.)
public enum DCE {
    /// No rules: the engine's sweep does the work.
    public static var rules: [RewriteRule] { [] }
}
