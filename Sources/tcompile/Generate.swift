import ArgumentParser
import Foundation
import JSON
import TCompile
import Tokenizers
import Transformers

/// `tcompile generate`: text generation from a model.json. Decoders (GPT-2, Llama, Mistral, Qwen2)
/// run through `CompiledGenerator` by default (`--eager` for the eager model) and stream text;
/// encoder-decoders (BART, T5, Marian) through `CompiledSeq2SeqGenerator` (beam search included). Options start from the checkpoint's
/// `generation_config.json` (`GenerationConfig(checkpoint:)`) and every flag, named as Hugging Face's
/// keyword, overrides one field.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text with a decoder or an encoder-decoder (compiled by default, --eager to compare).",
        discussion: """
            MODEL is a model.json: a manifest naming a checkpoint (tcompile.model/2; `tcompile export` writes one for \
            text2text-generation, summarization and translation) or a decoder traced by `tcompile export` (tcompile.graph/1), \
            whose checkpoint is --checkpoint or else --tokenizer. Defaults come from the checkpoint's generation_config.json \
            (else config.json), as transformers' GenerationConfig.from_pretrained; each flag overrides one of them. \
            A decoder's beam search runs eagerly (with a notice); an encoder-decoder's is compiled. With --inputs IN.safetensors (input_ids, optional attention_mask; \
            left-padded rows for decoders, right-padded sources for encoder-decoders) and -o OUT.safetensors, writes \
            `sequences` (int64, prompt or decoder start token first, as model.generate returns them).
            """)

    @Argument(help: "The model.json (a tcompile.model/2 manifest or a decoder's tcompile.graph/1 export).")
    var model: String

    @Option(help: "A checkpoint directory with tokenizer files (tokenizer.json, …) for --text; for a traced graph also its checkpoint unless --checkpoint is given.")
    var tokenizer: String?

    @Option(help: "The checkpoint directory a traced graph (tcompile.graph/1) was exported from (default: --tokenizer).")
    var checkpoint: String?

    @Option(help: "A prompt (repeat for a batch; '-' reads one prompt per line from stdin); needs --tokenizer.")
    var text: [String] = []

    @Option(help: "A file of prompts, one per non-empty line; needs --tokenizer.")
    var textFile: String?

    @Flag(help: "Wrap each prompt as a user message in the tokenizer's chat template (tokenizer_config.json's chat_template: ChatML, Llama 3 or Mistral).")
    var chat = false

    @Option(help: "Prompt ids in a safetensors file: input_ids [batch, seq] (int) and optionally attention_mask.")
    var inputs: String?

    @Option(name: .shortAndLong, help: "With --inputs: write `sequences` (int64) to this safetensors file.")
    var output: String?

    @Flag(help: "Run the eager model instead of the compiled generator (to compare).")
    var eager = false

    @Option(help: "Threads for the compiled and eager kernels, 1–\(TCompile.maximumThreads) (default: the manifest's options.threads, else one per core).")
    var threads: Int?

    @Flag(help: "JIT-compile even when the compile cache holds this model's machine code, and do not store it.")
    var noCache = false

    @OptionGroup var precision: PrecisionOption

    @OptionGroup(title: "Generation options (transformers' keywords; default: the checkpoint's generation_config.json)")
    var options: GenerationFlags

    func validate() throws {
        if let threads, !(1...TCompile.maximumThreads).contains(threads) {
            throw ValidationError("--threads must be 1 to \(TCompile.maximumThreads), got \(threads)")
        }
        let textGiven = !text.isEmpty || textFile != nil
        if inputs != nil && textGiven { throw ValidationError("give --text/--text-file or --inputs, not both") }
        if inputs == nil && !textGiven { throw ValidationError("give a prompt: --text \"…\", --text-file FILE, --text - (stdin) or --inputs IN.safetensors") }
        if output != nil && inputs == nil { throw ValidationError("-o writes the sequences of --inputs; for --text the text is printed") }
        if chat && inputs != nil { throw ValidationError("--chat applies to --text prompts, not to --inputs ids") }
        if !precision.calibrate.isEmpty {
            throw ValidationError("--calibrate applies to compiling a model (tcompile MODEL, run --compiled, bench), not to generate")
        }
        if eager && (precision.value != nil || !precision.keepFP32.isEmpty) {
            throw ValidationError("--precision and --keep-fp32 apply to the compiled generator, not to --eager")
        }
        try options.validate()
    }

    func run() throws {
        try reportingErrors {
            let source = try GenerationSource(model: model, checkpoint: checkpoint ?? tokenizer)
            if let output {
                var read = InputFiles.model(model)
                read.add(directory: source.checkpoint.path)
                if let inputs { read.add(inputs) }
                if let tokenizer { read.add(directory: tokenizer) }
                try read.check(outputs: [output])
            }
            var config = try GenerationConfig(checkpoint: source.checkpoint)
            try options.apply(to: &config)

            // Prompts, then every bound, before loading or compiling anything.
            var prompter: Tokenizer?
            let prompts: [[Int]]
            var texts: [String] = []
            if let inputs {
                prompts = try Self.prompts(fromFile: inputs, leftPadded: !source.isSeq2Seq)
            } else {
                guard let tokenizer else { throw CLIError("--text needs --tokenizer DIR (a checkpoint directory with tokenizer files)") }
                var t = try Tokenizer.fromDirectory(tokenizer)
                t.padding = nil
                t.truncation = nil
                texts = try promptTexts()
                if chat {
                    let template = try ChatTemplate.fromDirectory(tokenizer)
                    prompts = try texts.map { try t.encode(try template.apply([ChatMessage(role: "user", content: $0)], addGenerationPrompt: true), addSpecialTokens: false).ids }
                } else {
                    prompts = try texts.map { try t.encode($0).ids }
                }
                prompter = t
            }
            try source.checkBounds(prompts: prompts, config: config)
            let threadCount = threads ?? source.threads
            if let threadCount { EagerThreads.set(threadCount) }

            let beams = config.numBeams > 1
            // Encoder-decoders compile beam search too (its rows are sources × beams).
            let compiled = !eager && (source.isSeq2Seq || !beams)
            if !eager && !source.isSeq2Seq && beams {
                FileHandle.standardError.write(Data("tcompile: note: num_beams \(config.numBeams): beam search runs eagerly (the compiled generator decodes greedily or by sampling)\n".utf8))
            }
            // Decoders stream one prompt's tokens as they are picked (the encoder-decoders' loop has no hook).
            let streaming = prompter != nil && !source.isSeq2Seq && prompts.count == 1 && config.numReturnSequences == 1 && !beams
            let loadStart = DispatchTime.now()
            let rows = max(prompts.count, 1) * (source.isSeq2Seq ? config.numBeams : 1)
            // The eager model computes in fp32 (it is what a compiled run is compared with).
            let arithmetic = eager ? .fp32 : precision.value ?? source.precision ?? .fp32
            if !compiled && arithmetic != .fp32 {
                throw CLIError("precision \(arithmetic): beam search of a decoder runs eagerly, in fp32 (drop --num-beams or --precision)")
            }
            let generator = try source.generator(compiled: compiled, maxBatch: rows, threads: threadCount,
                                                 cache: noCache ? nil : CompileCache.standard, precision: arithmetic,
                                                 keepFP32: precision.keepFP32)
            let setup = milliseconds(since: loadStart)
            var stream = streaming ? TokenStream(tokenizer: prompter!, prompt: source.isSeq2Seq ? [] : prompts[0]) : nil
            let onTokens: ([Int]) -> Void = { tokens in stream?.append(tokens[0]) }
            let start = DispatchTime.now()
            let generated = try generator(prompts, config, streaming ? onTokens : nil)
            let elapsed = milliseconds(since: start)
            if streaming { stream?.finish(); writeOut("\n") }

            let count = generated.reduce(0) { $0 + $1.count }
            let how = compiled ? "compiled, \(arithmetic)" : "eager"
            FileHandle.standardError.write(Data(String(format: "tcompile: %d new tokens in %.2f s (%.1f tokens/s, %@; loading%@ %.2f s)\n",
                                                       count, elapsed / 1000, Double(count) / max(elapsed / 1000, 1e-9), how,
                                                       compiled ? " and compiling" : "", setup / 1000).utf8))
            let perPrompt = generated.count / max(prompts.count, 1)
            if let prompter, !streaming {
                for (i, tokens) in generated.enumerated() {
                    let label = perPrompt > 1 ? "[\(i / perPrompt + 1).\(i % perPrompt + 1)] " : (prompts.count > 1 ? "[\(i + 1)] " : "")
                    print(label + prompter.decode((source.isSeq2Seq ? [] : prompts[i / max(perPrompt, 1)]) + tokens))
                }
            }
            if prompter == nil {
                let sequences = try source.sequences(prompts: prompts, generated: generated, config: config)
                if let output {
                    try SafeTensors.write(["sequences": sequences], metadata: ["producer": "tcompile generate", "mode": how], to: output)
                    print("wrote sequences \(sequences.shape) to \(output)")
                } else {
                    let width = sequences.size(1), values = sequences.toIntArray()
                    for row in 0..<sequences.size(0) { print(values[(row * width)..<((row + 1) * width)].map(String.init).joined(separator: " ")) }
                }
            }
        }
    }

    /// The prompts of `--text` (`-` for stdin's lines) and `--text-file`.
    func promptTexts() throws -> [String] {
        func lines(_ bytes: [UInt8], _ source: String) throws -> [String] {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw CLIError("\(source): not valid UTF-8") }
            return text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
        var out: [String] = []
        for t in text {
            if t == "-" { out += try lines(Array(FileHandle.standardInput.readDataToEndOfFile()), "--text - (stdin)") } else { out.append(t) }
        }
        if let textFile {
            do { out += try lines(try RegularFile.read(textFile), textFile) } catch let e as RegularFile.Failure {
                throw CLIError("--text-file \(textFile): \(e.reason)")
            }
        }
        if out.isEmpty { throw CLIError("--text - / --text-file: no text (every line is empty)") }
        return out
    }

    /// Prompts from `input_ids` and `attention_mask` (all ones when absent): for a decoder the masked
    /// positions must be a left padding, for an encoder-decoder a right padding.
    static func prompts(fromFile path: String, leftPadded: Bool) throws -> [[Int]] {
        let tensors = try SafeTensorsFile(path: path).tensors()
        guard let ids = tensors["input_ids"] else {
            throw CLIError("\(path): no tensor 'input_ids' (has \(tensors.keys.sorted().joined(separator: ", ")))")
        }
        guard ids.shape.count == 2, ids.size(0) >= 1, ids.size(1) >= 1 else { throw CLIError("\(path): input_ids must be [batch, seq] with both ≥ 1, got \(ids.shape)") }
        guard ids.dtype == .int64 || ids.dtype == .int32 else { throw CLIError("\(path): input_ids must be int64 or int32, got \(ids.dtype)") }
        let (batch, width) = (ids.size(0), ids.size(1))
        var mask = Array(repeating: 1, count: batch * width)
        if let m = tensors["attention_mask"] {
            guard m.shape == ids.shape else { throw CLIError("\(path): attention_mask has shape \(m.shape), input_ids \(ids.shape)") }
            guard m.dtype != .float32 || m.toFloatArray().allSatisfy({ $0 == 0 || $0 == 1 }) else { throw CLIError("\(path): attention_mask must hold 0 and 1") }
            mask = m.dtype == .float32 ? m.toFloatArray().map { Int($0) } : m.toIntArray()
            guard mask.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw CLIError("\(path): attention_mask must hold 0 and 1") }
        }
        let values = ids.toIntArray()
        return try (0..<batch).map { row in
            let m = Array(mask[(row * width)..<((row + 1) * width)])
            let real = m.reduce(0, +)
            guard real > 0 else { throw CLIError("\(path): attention_mask row \(row) is all 0 (an empty prompt)") }
            let expected = leftPadded ? Array(repeating: 0, count: width - real) + Array(repeating: 1, count: real)
                : Array(repeating: 1, count: real) + Array(repeating: 0, count: width - real)
            guard m == expected else {
                throw CLIError("\(path): attention_mask row \(row) is not a \(leftPadded ? "left" : "right") padding (\(leftPadded ? "decoders take left-padded prompts, as model.generate" : "encoder-decoders take right-padded sources"))")
            }
            let start = row * width + (leftPadded ? width - real : 0)
            return Array(values[start..<(start + real)])
        }
    }
}

/// The generation flags, each named as `model.generate`'s keyword in kebab case; nil keeps the
/// checkpoint's value.
struct GenerationFlags: ParsableArguments {
    @Option(help: "max_new_tokens: tokens to add after the prompt, at most.")
    var maxNewTokens: Int?
    @Option(help: "min_new_tokens: new tokens before an EOS may be chosen.")
    var minNewTokens: Int?
    @Flag(inversion: .prefixedNo, help: "do_sample: sample instead of taking the most likely token.")
    var doSample: Bool?
    @Option(help: "temperature (> 0) of sampling.")
    var temperature: Float?
    @Option(help: "top_k: sample from the k most likely tokens (0: all).")
    var topK: Int?
    @Option(help: "top_p in (0, 1]: sample from the smallest set of tokens with this much probability.")
    var topP: Float?
    @Option(help: "Seed of sampling: the same seed gives the same tokens (ours; transformers' torch generator differs).")
    var seed: UInt64?
    @Option(help: "num_beams: beam search with this many beams (runs eagerly).")
    var numBeams: Int?
    @Option(help: "length_penalty of beam search.")
    var lengthPenalty: Float?
    @Option(help: "early_stopping of beam search: true, false or never.")
    var earlyStopping: String?
    @Option(help: "no_repeat_ngram_size: no n-gram of this size twice.")
    var noRepeatNgramSize: Int?
    @Option(help: "num_return_sequences: hypotheses per prompt (beam search), at most num_beams.")
    var numReturnSequences: Int?
    @Option(help: "repetition_penalty (1: off).")
    var repetitionPenalty: Float?
    @Option(help: "bad_words_ids as JSON, e.g. '[[5], [9, 10]]'.")
    var badWordsIds: String?
    @Option(help: "forced_bos_token_id: the first new token of an encoder-decoder.")
    var forcedBosTokenId: Int?
    @Option(help: "forced_eos_token_id: the token forced last (one id, or several comma separated).")
    var forcedEosTokenId: String?

    func validate() throws {
        if let earlyStopping, !["true", "false", "never"].contains(earlyStopping) {
            throw ValidationError("--early-stopping takes true, false or never, got '\(earlyStopping)'")
        }
        _ = try badWords()
        _ = try forcedEos()
    }

    func badWords() throws -> [[Int]]? {
        guard let badWordsIds else { return nil }
        let message = "--bad-words-ids must be a JSON list of lists of token ids, e.g. '[[5], [9, 10]]', got '\(badWordsIds)'"
        guard let value = try? JSONParser.parse(Array(badWordsIds.utf8), file: "--bad-words-ids"),
              let lists = try? JSONReader(value, file: "--bad-words-ids").array().map({ try $0.array().map { try $0.int() } }) else {
            throw ValidationError(message)
        }
        return lists
    }

    func forcedEos() throws -> [Int]? {
        guard let forcedEosTokenId else { return nil }
        let ids = forcedEosTokenId.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--forced-eos-token-id takes a token id or ids separated by commas, got '\(forcedEosTokenId)'")
        }
        return ids.compactMap { $0 }
    }

    /// Overrides `config`'s fields with the flags given, then validates it (errors name the flag).
    func apply(to config: inout GenerationConfig) throws {
        if let maxNewTokens { config.setMaxNewTokens(maxNewTokens) }
        if let minNewTokens { config.minNewTokens = minNewTokens; config.minLength = nil }
        if let doSample { config.doSample = doSample }
        if let temperature { config.temperature = temperature }
        if let topK { config.topK = topK }
        if let topP { config.topP = topP }
        if let seed { config.seed = seed }
        if let numBeams {
            config.numBeams = numBeams
            // A checkpoint asking for more returned sequences than the beams given here keeps to the beams.
            if numReturnSequences == nil { config.numReturnSequences = min(config.numReturnSequences, numBeams) }
        }
        if let lengthPenalty { config.lengthPenalty = lengthPenalty }
        if let earlyStopping { config.earlyStopping = earlyStopping == "never" ? .never : (earlyStopping == "true" ? .whenFull : .heuristic) }
        if let noRepeatNgramSize { config.noRepeatNgramSize = noRepeatNgramSize }
        if let numReturnSequences { config.numReturnSequences = numReturnSequences }
        if let repetitionPenalty { config.repetitionPenalty = repetitionPenalty }
        if let words = try badWords() { config.badWordsIds = words }
        if let forcedBosTokenId { config.forcedBosTokenId = forcedBosTokenId }
        if let ids = try forcedEos() { config.forcedEosTokenIds = ids }
        if config.doSample && config.numBeams > 1 && numBeams == nil && doSample == true {
            config.numBeams = 1   // --do-sample over a checkpoint's beams: sampling, as asked
            config.numReturnSequences = 1
        }
        let checked = config
        do { try checked.validate() } catch {
            if case .invalidInput(let argument, let reason) = error {
                throw CLIError("--\(argument.replacingOccurrences(of: "_", with: "-")) \(reason)")
            }
            throw error
        }
    }
}

/// Streams one row's tokens as text: prints what the decoded text gained since the last token,
/// holding back while it ends in an incomplete character (a byte-fallback or byte-level piece).
struct TokenStream {
    let tokenizer: Tokenizer
    var ids: [Int] = []
    var printed = ""
    var done = false

    /// Prints the prompt as the tokenizer decodes it (so the continuation joins it with the spacing
    /// the tokenizer gives).
    init(tokenizer: Tokenizer, prompt: [Int]) {
        self.tokenizer = tokenizer
        ids = prompt
        printed = tokenizer.decode(prompt)
        writeOut(printed)
    }

    mutating func append(_ id: Int) {
        guard !done else { return }
        ids.append(id)
        flush(final: false)
    }

    mutating func finish() { flush(final: true); done = true }

    private mutating func flush(final: Bool) {
        let text = tokenizer.decode(ids)
        guard final || !text.hasSuffix("\u{FFFD}") else { return }
        // A decoder's cleanup may rewrite what was printed (never the case for the prefix-stable
        // decoders of WordPiece, byte-level BPE and SentencePiece); then only the new tail is shown.
        guard text.hasPrefix(printed) || final else { return }
        writeOut(text.hasPrefix(printed) ? text.dropFirst(printed.count) : text.dropFirst(text.commonPrefix(with: printed).count))
        printed = text
    }
}

/// Writes to stdout unbuffered (streamed text shows as it is generated).
func writeOut(_ text: some StringProtocol) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
