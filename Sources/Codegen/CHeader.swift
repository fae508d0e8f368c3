import Graph

/// Writes `NAME.h`, the C declarations of an AOT library, with each input's and output's dtype and
/// shape, and the dynamic dims' order and bounds, in comments a person can follow.
enum CHeader {
    static func text(_ graph: Graph, name: String, weightsHash: UInt64? = nil) -> String {
        text(entries: [(name, graph)], name: name, weightsHash: weightsHash)
    }

    /// The header of a library of several graphs, each `(prefix, graph)` with its own dims, inputs,
    /// outputs and `PREFIX_run`, and with `generation` the generation state API.
    static func text(entries: [(prefix: String, graph: Graph)], name: String, weightsHash: UInt64? = nil,
                     generation: GenerationAPI.Layout? = nil, precision: Precision = .fp32, targets: [HostTarget] = [.portable()]) -> String {
        let guardName = name.uppercased() + "_H"
        func cType(_ t: TensorType) -> String {
            switch t.dtype {
            case .float32: "float"
            case .int32: "int32_t"
            case .int64: "int64_t"
            case .bool: "uint8_t (0 or 1)"
            }
        }
        var h = """
        /* \(name).h: C API of the model compiled by tcompile. Link with lib\(name).a and -lm
         * (and -lpthread before glibc 2.34): the generated code needs nothing else.
         *
         * Usage:
         *   \(name)_model *model;
         *   if (\(name)_create("\(name).weights", &model) != 0) { ... }
         *   void *workspace = aligned_alloc(64, \(entries[0].prefix)_workspace_size());   (one per concurrent call)
         *   int status = \(entries[0].prefix)_run(model, dims, inputs, outputs, workspace);\(generation == nil ? "" : """

         *
         * Generation (one state per sequence, any number of states per model):
         *   \(name)_gen *gen;
         *   \(name)_gen_create(model, 0, &gen);
         *   \(name)_gen_prompt(gen, ids, count);
         *   \(name)_gen_run(gen, max_new_tokens, callback, user, &generated);   (or \(name)_gen_step)
         *   \(name)_gen_destroy(gen);
        """)
         *   \(name)_destroy(model);
         *
         * No global mutable state: one model may be run from several threads at once, each with its
         * own workspace.
         */
        #ifndef \(guardName)
        #define \(guardName)
        #include <stddef.h>
        #include <stdint.h>
        #ifdef __cplusplus
        extern "C" {
        #endif

        /* Opaque handle to loaded weights. */
        typedef struct \(name)_model \(name)_model;

        /* Status codes. */
        """
        for s in CAPI.Status.allCases {
            let id = "\(name.uppercased())_\(String(describing: s).uppercased())"
            h += "\n#define \(id) \(s.rawValue)  /* \(s.message(for: precision, target: targets[targets.count - 1])) */"
        }
        h += "\n\n/* The arithmetic of the matrix products (tcompile --precision): \"fp32\"; \"bf16\" (bf16 weights and\n"
        h += " * GEMM inputs, f32 accumulation, softmax, layer norm and residuals; needs a CPU with avx512_bf16);\n"
        h += " * or \"int8\" (int8 weights per output channel, activations quantized per token, int32 sums; needs\n"
        h += " * avx512_vnni). On a CPU without the feature NAME_create returns status 7. */\n"
        h += "#define \(name.uppercased())_PRECISION \"\(precision)\""
        h += "\n\n/* The CPUs the code was compiled for (tcompile --cpu), best first. A library of several (--cpu multi)\n"
        h += " * holds one copy of its code per CPU and runs the first whose features this CPU has (checked by CPUID\n"
        h += " * on the first call; the environment variable \(CPUDispatch.environmentVariable) set to one of these names caps the choice\n"
        h += " * at it); NAME_cpu_target says which runs. */\n"
        h += "#define \(name.uppercased())_CPU_TARGETS \"\(targets.map(\.cpu).joined(separator: " "))\""
        if let weightsHash {
            h += "\n\n/* The content hash of the weights this library was compiled with (bytes 16-23 of NAME.weights);\n"
            h += " * NAME_create refuses a file with another one (status 6). */\n"
            h += "#define \(name.uppercased())_WEIGHTS_HASH 0x\(String(weightsHash, radix: 16, uppercase: true))ULL"
        }
        for (prefix, graph) in entries {
            let macro = prefix.uppercased()
            if entries.count > 1 { h += "\n\n/* ---- \(prefix)_run ---- */" }
            h += "\n\n/* Dynamic dims, in the order of the `dims` array: */\n"
            h += "#define \(macro)_NUM_DIMS \(graph.symbols.count)\n"
            for (i, s) in graph.symbols.enumerated() { h += "/*   dims[\(i)] = \(commentText(s.name)), \(s.min) ... \(s.max) */\n" }
            h += "\n/* Inputs, in the order of the `inputs` array (contiguous, row-major): */\n"
            h += "#define \(macro)_NUM_INPUTS \(graph.inputNodes.count)\n"
            for (i, node) in graph.inputNodes.enumerated() {
                if case .input(let n) = node.op { h += "/*   inputs[\(i)] = \(commentText(n)): \(cType(node.type)) [\(shape(node.type))] */\n" }
            }
            h += "\n/* Outputs, in the order of the `outputs` array (caller-allocated, contiguous): */\n"
            h += "#define \(macro)_NUM_OUTPUTS \(graph.outputs.count)\n"
            for (i, o) in graph.outputs.enumerated() {
                let t = graph.node(o.value)!.type
                h += "/*   outputs[\(i)] = \(commentText(o.name)): \(cType(t)) [\(shape(t))] */\n"
            }
        }
        h += """

        /* Maps and validates a weights file written by tcompile; *model is set on success. */
        int \(name)_create(const char *weights_path, \(name)_model **model);

        /* Uses the weights embedded in the library (tcompile --embed-weights); fails otherwise. */
        int \(name)_create_embedded(\(name)_model **model);

        /* Sets the threads the model's kernels use (0: one per online core, the default unless the
         * library was compiled with --threads; 1: only the calling thread; a negative count returns
         * 1 and keeps the current threads). The threads sleep when the model is idle. Not to be
         * called while the model is running. */
        int \(name)_set_threads(\(name)_model *model, int threads);

        /* Releases a model (NULL is ignored). */
        void \(name)_destroy(\(name)_model *model);

        /* The CPU the running code was compiled for: one of NAME_CPU_TARGETS (an LLVM CPU name). */
        const char *\(name)_cpu_target(void);


        """
        for (prefix, _) in entries {
            h += """

            /* Bytes of workspace one call of \(prefix)_run needs (64-byte aligned), the same for every dim value. */
            size_t \(prefix)_workspace_size(void);

            /* Elements of output `index` of \(prefix)_run for these dims, or -1 for a bad index, NULL dims
             * or a dim outside the bounds the model was compiled for. */
            int64_t \(prefix)_output_elements(int index, const int64_t *dims);

            /* Runs the model. Checks every pointer, every dim against its bounds and every index input
             * (token id) against its table before producing outputs; returns a status code. */
            int \(prefix)_run(const \(name)_model *model, const int64_t *dims, const void *const *inputs,
                            void *const *outputs, void *workspace);

            """
        }
        if let generation { h += GenerationAPI.header(name: name, layout: generation) }
        h += """

        /* A readable message for a status code. */
        const char *\(name)_error_message(int code);

        #ifdef __cplusplus
        }
        #endif
        #endif

        """
        return h
    }

    /// A name from the graph (an input, output or dim, read from an untrusted model.json) as it may
    /// appear inside a C comment: a C identifier as is, anything else as a quoted string with every
    /// byte outside printable ASCII, and `*`, `/`, `\\` and `"`, written `\\xHH` — so no name can close
    /// the comment (`*/`), start a line (a newline) or smuggle a trigraph or a `??/` continuation.
    static func commentText(_ name: String) -> String {
        if CIdentifier.isValid(name) { return name }
        var out = "\""
        for byte in name.utf8 {
            switch byte {
            case 0x20...0x7E where !"*/\\\"?".utf8.contains(byte): out.unicodeScalars.append(Unicode.Scalar(byte))
            default: out += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out + "\""
    }

    /// A shape as the header's comments print it (dims are symbol expressions: identifiers, digits,
    /// `+`, `-`, `*` and spaces; any other character is escaped like a name).
    static func shape(_ t: TensorType) -> String {
        t.shape.map { d in
            let text = d.description
            return text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || " _+-*".unicodeScalars.contains($0)) }
                && !text.contains("*/") ? text : commentText(text)
        }.joined(separator: ", ")
    }

    /// `module.modulemap` so a Swift package can `import NAME`.
    static func moduleMap(name: String) -> String {
        """
        module \(name) [system] {
            header "\(name).h"
            link "\(name)"
            link "m"
            export *
        }

        """
    }
}
