/// The result of encoding one text or one pair of texts: what a model takes as input.
///
/// ```swift
/// let encoding = try tokenizer.encodePair("How old are you?", "I am six.")
/// encoding.ids            // [101, 2129, 2214, 2024, 2017, 1029, 102, 1045, 2572, 2416, 1012, 102]
/// encoding.typeIds        // [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
/// encoding.offsets[1]     // 0..<3: "How" in the first text
/// ```
public struct Encoding: Sendable, Equatable {
    /// Token ids.
    public var ids: [Int]
    /// Segment (token type) ids: 0 for the first text, 1 for the second, as the post-processor sets them.
    public var typeIds: [Int]
    /// The tokens, as the vocabulary spells them (`##ing`, `Ġworld`).
    public var tokens: [String]
    /// For each token, its UTF-8 byte range in the text it comes from (the first or the second of a pair,
    /// see `sequenceIds`); `0..<0` for special and padding tokens. Hugging Face's Python offsets count
    /// characters instead: convert with `String.utf8` indices.
    public var offsets: [Range<Int>]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int]
    /// 1 for tokens the post-processor or padding added ([CLS], [SEP], <s>, padding), 0 otherwise.
    public var specialTokensMask: [Int]
    /// For each token, which text it comes from (0 or 1), or nil for added special tokens and padding.
    public var sequenceIds: [Int?]

    /// The number of tokens.
    public var count: Int { ids.count }

    /// An empty encoding.
    public init() {
        ids = []; typeIds = []; tokens = []; offsets = []; attentionMask = []; specialTokensMask = []
        sequenceIds = []
    }

    mutating func reserveCapacity(_ n: Int) {
        ids.reserveCapacity(n); typeIds.reserveCapacity(n); tokens.reserveCapacity(n); offsets.reserveCapacity(n)
        attentionMask.reserveCapacity(n); specialTokensMask.reserveCapacity(n); sequenceIds.reserveCapacity(n)
    }

    mutating func append(id: Int, token: String, typeId: Int, offset: Range<Int>, special: Bool, sequence: Int?) {
        ids.append(id)
        typeIds.append(typeId)
        tokens.append(token)
        offsets.append(offset)
        attentionMask.append(1)
        specialTokensMask.append(special ? 1 : 0)
        sequenceIds.append(sequence)
    }

    /// Pads to `length` tokens on the side `padding.direction` says.
    mutating func pad(to length: Int, with padding: Padding) {
        let missing = length - count
        guard missing > 0 else { return }
        func extend<T>(_ array: inout [T], _ value: T) {
            if padding.direction == .right {
                array.append(contentsOf: repeatElement(value, count: missing))
            } else {
                array.insert(contentsOf: repeatElement(value, count: missing), at: 0)
            }
        }
        extend(&ids, padding.padId)
        extend(&typeIds, padding.padTypeId)
        extend(&tokens, padding.padToken)
        extend(&offsets, 0..<0)
        extend(&attentionMask, 0)
        extend(&specialTokensMask, 1)
        extend(&sequenceIds, nil)
    }
}

/// How to cut inputs that are too long (Hugging Face's `TruncationParams`).
public struct Truncation: Sendable, Equatable {
    /// Which text loses tokens.
    public enum Strategy: String, Sendable {
        /// Take tokens from the longer text first (`longest_first`).
        case longestFirst
        /// Only from the first text (`only_first`); an error if that is not enough.
        case onlyFirst
        /// Only from the second text (`only_second`); an error if that is not enough.
        case onlySecond
    }

    /// Which end of a text loses tokens.
    public enum Direction: String, Sendable {
        /// Keep the first tokens (the default).
        case right
        /// Keep the last tokens.
        case left
    }

    /// The largest number of tokens, special tokens included.
    public var maxLength: Int
    /// Which text loses tokens.
    public var strategy: Strategy
    /// Which end of a text loses them.
    public var direction: Direction

    /// Truncation to `maxLength` tokens, special tokens included.
    public init(maxLength: Int, strategy: Strategy = .longestFirst, direction: Direction = .right) {
        self.maxLength = maxLength
        self.strategy = strategy
        self.direction = direction
    }
}

/// How to pad encodings to a common length (Hugging Face's `PaddingParams`).
public struct Padding: Sendable, Equatable {
    /// The length to pad to.
    public enum Length: Sendable, Equatable {
        /// The longest encoding of the batch (`BatchLongest`).
        case longest
        /// A fixed number of tokens (`Fixed`); longer encodings are left as they are.
        case fixed(Int)
    }

    /// Which side receives the padding.
    public enum Direction: String, Sendable {
        /// After the tokens (the default).
        case right
        /// Before the tokens.
        case left
    }

    /// The length to pad to.
    public var length: Length
    /// Which side receives the padding.
    public var direction: Direction
    /// Rounds the length up to a multiple of this number.
    public var padToMultipleOf: Int?
    /// The id of padding tokens.
    public var padId: Int
    /// The type id of padding tokens.
    public var padTypeId: Int
    /// The spelling of padding tokens (in `Encoding.tokens`).
    public var padToken: String

    /// Padding with `padToken` (id `padId`).
    public init(length: Length = .longest, direction: Direction = .right, padToMultipleOf: Int? = nil,
                padId: Int = 0, padTypeId: Int = 0, padToken: String = "[PAD]") {
        self.length = length
        self.direction = direction
        self.padToMultipleOf = padToMultipleOf
        self.padId = padId
        self.padTypeId = padTypeId
        self.padToken = padToken
    }

    /// Pads every encoding of a batch as configured.
    func apply(to encodings: inout [Encoding]) {
        var target: Int
        switch length {
        case .longest: target = encodings.map(\.count).max() ?? 0
        case let .fixed(n): target = n
        }
        if let m = padToMultipleOf, m > 0, target % m != 0 { target += m - target % m }
        for i in encodings.indices { encodings[i].pad(to: target, with: self) }
    }
}

extension Truncation {
    /// Truncates the model tokens of one text (`lists.0`) or a pair so that, with `added` special tokens,
    /// they fit (HF's `truncate_encodings`).
    func apply(_ lists: inout (TokenList, TokenList), pair: Bool, added: Int) throws(TokenizerError) {
        let maxLength = max(0, self.maxLength - added)
        let total = lists.0.count + (pair ? lists.1.count : 0)
        guard total > maxLength else { return }
        let toRemove = total - maxLength
        switch strategy {
        case .longestFirst:
            guard pair else {
                lists.0.truncate(to: total - toRemove, direction: direction)
                return
            }
            var n1 = lists.0.count, n2 = lists.1.count
            let swapped = n1 > n2
            if swapped { swap(&n1, &n2) }
            n2 = n1 > maxLength ? n1 : max(n1, maxLength - n1)
            if n1 + n2 > maxLength {
                n1 = maxLength / 2
                n2 = n1 + maxLength % 2
            }
            if swapped { swap(&n1, &n2) }
            lists.0.truncate(to: n1, direction: direction)
            lists.1.truncate(to: n2, direction: direction)
        case .onlyFirst:
            guard lists.0.count > toRemove else {
                throw .truncationImpossible(reason: "the first sequence is too short to respect max length \(self.maxLength)")
            }
            lists.0.truncate(to: lists.0.count - toRemove, direction: direction)
        case .onlySecond:
            guard pair else { throw .truncationImpossible(reason: "only_second needs a second sequence") }
            guard lists.1.count > toRemove else {
                throw .truncationImpossible(reason: "the second sequence is too short to respect max length \(self.maxLength)")
            }
            lists.1.truncate(to: lists.1.count - toRemove, direction: direction)
        }
    }
}
