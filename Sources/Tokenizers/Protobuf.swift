// A small reader of the protobuf wire format (https://protobuf.dev/programming-guides/encoding/), enough for
// SentencePiece's `ModelProto`: varints, 32- and 64-bit fixed fields and length-delimited fields, every
// length checked against the buffer, unknown fields skipped.

/// Reads the fields of one protobuf message in `bytes[start..<end]`.
struct ProtobufReader {
    let bytes: [UInt8]
    var position: Int
    let end: Int
    /// Names the file in errors.
    let file: String

    init(_ bytes: [UInt8], _ start: Int, _ end: Int, file: String) {
        self.bytes = bytes
        position = start
        self.end = end
        self.file = file
    }

    enum WireType: Int {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    func error(_ reason: String) -> TokenizerError { .notSentencePieceModel(file: file, reason: reason) }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws(TokenizerError) -> (number: Int, wireType: WireType)? {
        guard position < end else { return nil }
        let at = position
        let key = try varint()
        guard let wireType = WireType(rawValue: Int(key & 7)), wireType != .startGroup, wireType != .endGroup else {
            throw error("unsupported wire type \(key & 7) at byte \(at)")
        }
        let number = key >> 3
        guard number >= 1 && number < 1 << 29 else { throw error("invalid field number \(number) at byte \(at)") }
        return (Int(number), wireType)
    }

    mutating func varint() throws(TokenizerError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        let at = position
        while true {
            guard position < end else { throw error("truncated varint at byte \(at)") }
            let b = bytes[position]
            position += 1
            guard shift < 64 else { throw error("varint longer than 10 bytes at byte \(at)") }
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
    }

    mutating func fixed32() throws(TokenizerError) -> UInt32 {
        guard end - position >= 4 else { throw error("truncated 32-bit field at byte \(position)") }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[position + k]) << (8 * k) }
        position += 4
        return v
    }

    /// A length-delimited field's byte range, checked against the message's end.
    mutating func lengthDelimited() throws(TokenizerError) -> Range<Int> {
        let at = position
        let length = try varint()
        guard length <= UInt64(end - position) else {
            throw error("field at byte \(at) declares \(length) bytes, but \(end - position) remain")
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    mutating func string() throws(TokenizerError) -> String {
        let range = try lengthDelimited()
        guard let s = String(validating: bytes[range], as: UTF8.self) else { throw error("invalid UTF-8 string at byte \(range.lowerBound)") }
        return s
    }

    /// Skips a field of `wireType` (an unknown field).
    mutating func skip(_ wireType: WireType) throws(TokenizerError) {
        switch wireType {
        case .varint: _ = try varint()
        case .fixed64:
            guard end - position >= 8 else { throw error("truncated 64-bit field at byte \(position)") }
            position += 8
        case .lengthDelimited: _ = try lengthDelimited()
        case .fixed32: _ = try fixed32()
        case .startGroup, .endGroup: throw error("unsupported group field")
        }
    }

    /// Checks that a field has the wire type its schema says.
    func expect(_ wireType: WireType, _ actual: WireType, _ name: String) throws(TokenizerError) {
        guard wireType == actual else { throw error("field \(name) has wire type \(actual.rawValue), expected \(wireType.rawValue)") }
    }
}
