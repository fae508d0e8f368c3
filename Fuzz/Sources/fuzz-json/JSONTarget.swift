import FuzzSupport
import JSON

/// A small Codable shape with every scalar kind, nesting, optionals and a dictionary, so that the
/// decoder's containers are exercised on whatever the parser accepts.
struct Probe: Decodable {
    var name: String?
    var count: Int?
    var small: Int8?
    var ratio: Float?
    var flag: Bool?
    var items: [Probe]?
    var labels: [String: String]?
    var ids: [Int]?
}

/// Parses the input with `JSONParser`; a document that parses is walked through `JSONReader` (every
/// member and element with its path, every typed accessor) and decoded as `Probe`. Every outcome must
/// be a value or a `JSONError`, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let value = try? JSONParser.parse(bytes(data, size), file: "fuzz.json") else { return 0 }
    walk(JSONReader(value, file: "fuzz.json"), budget: 10_000)
    _ = try? JSONReader(value, file: "fuzz.json").decode(Probe.self)
    _ = try? JSONReader(value, file: "fuzz.json").decode([String: [Int]].self)
    return 0
}

/// Visits at most `budget` values, calling each accessor and building each error message.
@discardableResult
func walk(_ reader: JSONReader, budget: Int) -> Int {
    var budget = budget - 1
    guard budget > 0 else { return 0 }
    _ = (try? reader.string(), try? reader.int(), try? reader.double(), try? reader.bool())
    _ = reader.error("probe").description
    _ = reader.value.shortDescription
    if let members = try? reader.members() {
        _ = try? reader.rejectUnknownFields(["format", "name"])
        _ = try? reader.requireString("format")
        _ = try? reader.optionalInt("max")
        for (_, member) in members where budget > 0 { budget = walk(member, budget: budget) }
    } else if let elements = try? reader.array() {
        for element in elements where budget > 0 { budget = walk(element, budget: budget) }
    }
    return budget
}

/// The program's entry point (see FuzzSupport.runFuzzer).
@_cdecl("fuzz_json_main")
func fuzzJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzJSON)
}
