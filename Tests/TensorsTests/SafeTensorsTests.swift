import Foundation
import Testing
@testable import Tensors

@Suite struct SafeTensorsTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    struct Expected: Decodable {
        struct Value: Decodable {
            var dtype: String
            var shape: [Int]
            var data: [Double]
            init(from decoder: Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                dtype = try c.decode(String.self, forKey: .dtype)
                shape = try c.decode([Int].self, forKey: .shape)
                data = dtype == "bool" ? try c.decode([Bool].self, forKey: .data).map { $0 ? 1 : 0 }
                    : try c.decode([Double].self, forKey: .data)
            }
            enum CodingKeys: String, CodingKey { case dtype, shape, data }
        }
        var metadata: [String: String]
        var tensors: [String: Value]
    }

    @Test func readsFilesWrittenByPython() throws {
        let file = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("python.safetensors").path)
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("python_safetensors_expected.json")))
        #expect(file.metadata == expected.metadata)
        #expect(Set(file.names) == Set(expected.tensors.keys))
        for (name, value) in expected.tensors {
            let t = try file.tensor(name)
            #expect(t.dtype.rawValue == value.dtype, "\(name)")
            #expect(t.shape == value.shape, "\(name)")
            if t.dtype == .int64 {
                #expect(t.toIntArray() == value.data.map { Int($0) }, "\(name)")
            } else {
                #expect(t.toFloatArray() == value.data.map { Float($0) }, "\(name)")  // exact
            }
        }
        #expect(try file.tensor("half", as: .float32).dtype == .float32)
        #expect(try file.tensor("ids32", as: .int64).toIntArray() == [5, -6, 7])
    }

    @Test func writeThenReadRoundTripsExactly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.safetensors").path
        let values: [String: Tensor] = [
            "a.weight": Tensor.randn([3, 4], seed: 1).transposed(),   // non-contiguous is written contiguously
            "ids": Tensor([1, 2, 3], shape: [3]),
            "ids32": Tensor([4, 5], shape: [2], dtype: .int32),
            "mask": Tensor([true, false], shape: [2]),
            "scalar": Tensor(3.5),
        ]
        try SafeTensors.write(values, metadata: ["format": "pt"], to: path)
        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == ["format": "pt"])
        for (name, t) in values {
            let back = try file.tensor(name)
            #expect(back.shape == t.shape && back.dtype == t.dtype && back.toFloatArray() == t.toFloatArray(), "\(name)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["w.safetensors"], "no temporary left behind")
    }

    /// A file with the given header JSON and `dataBytes` bytes of data.
    static func craft(_ header: String, dataBytes: Int, headerSize: UInt64? = nil) throws -> String {
        var data = Data()
        let json = Data(header.utf8)
        withUnsafeBytes(of: (headerSize ?? UInt64(json.count)).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(Data(repeating: 0, count: dataBytes))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID()).safetensors").path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(arguments: [
        ("", 0, UInt64?.none, "too short"),
        ("{}", 0, UInt64(1_000), "header size"),
        ("[1, 2]", 0, nil, "not a JSON object"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}", 8, nil, "not a JSON object"),
        ("{\"a\": {\"dtype\": \"Q4\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, nil, "unsupported dtype 'Q4'"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8, nil, "needs 12 bytes"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 16]}}", 8, nil, "outside"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", 8, nil, "non-negative integer"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12, nil, "overlaps"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, nil, "gap"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 8, nil, "cover 4"),
        ("{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, nil, "'dtype'"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, nil, "data_offsets"),
        ("{\"__metadata__\": {\"k\": 1}}", 0, nil, "not a string"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, nil, "has the key \"a\" twice"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [true], \"data_offsets\": [0, 4]}}", 4, nil, "non-negative integer"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4.0]}}", 4, nil, "two integers"),
        // Issue #21: shapes whose byte count wrapped (2^62 × 4 = 2^64 ≡ 0) were accepted; the largest
        // trapped computing the message.
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], \"data_offsets\": [0, 0]}}", 0, nil, "shape [4611686018427387904] has more than 281474976710656 elements"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], \"data_offsets\": [0, 4]}}", 4, nil, "has more than 281474976710656 elements"),
        ("{\"a\": {\"dtype\": \"F64\", \"shape\": [2305843009213693952], \"data_offsets\": [0, 0]}}", 0, nil, "has more than 281474976710656 elements"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [65536, 65536, 65536, 65536], \"data_offsets\": [0, 0]}}", 0, nil, "has more than"),
        ("{\"a\": {\"dtype\": \"F32\", \"shape\": [0, 4294967296, 4294967296], \"data_offsets\": [0, 0]}}", 0, nil, "has more than"),
    ] as [(String, Int, UInt64?, String)])
    func rejectsMalformedFiles(_ header: String, _ dataBytes: Int, _ size: UInt64?, _ message: String) throws {
        let path: String
        if header.isEmpty {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("short-\(UUID())").path
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        } else {
            path = try Self.craft(header, dataBytes: dataBytes, headerSize: size)
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try SafeTensorsFile(path: path)
            Issue.record("accepted a malformed file: \(message)")
        } catch let error as SafeTensorsError {
            #expect(error.path == path)
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test func namesTheTensorAndTheMissingFile() throws {
        let path = try Self.craft("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", dataBytes: 8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path) }
        do { _ = try SafeTensorsFile(path: path) } catch let e as SafeTensorsError { #expect(e.tensor == "w") }
        do { _ = try SafeTensorsFile(path: "/nonexistent/model.safetensors") } catch let e as SafeTensorsError {
            #expect(e.description.contains("/nonexistent/model.safetensors") && e.description.contains("cannot open"))
        }
        let ok = try SafeTensorsFile(path: Self.fixtures.appendingPathComponent("python.safetensors").path)
        #expect(throws: SafeTensorsError(path: ok.path, tensor: "nope", reason: "no such tensor in the file")) { try ok.tensor("nope") }
    }

    @Test func mappedTensorsAreCopyOnWrite() throws {
        let path = Self.fixtures.appendingPathComponent("python.safetensors").path
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let t = try SafeTensorsFile(path: path).tensor("encoder.layer.0.attention.self.query.weight")
        t.assign(Tensor.zeros([4, 3]))
        #expect(t.toFloatArray().allSatisfy { $0 == 0 })
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "the user's file is never modified")
    }

    /// Writing tensors read from a mapped file copies the unchanged ones from that file
    /// (`FileSink.copy`); one changed in memory, one stored as a view and one computed are written from
    /// memory. Each must come back as it is in memory, however it was written; the file is byte for
    /// byte what `encode` gives.
    @Test func writesMappedTensorsAsTheyAreInMemory() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("copy-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = folder + "/source.safetensors"
        // 1.2 MB each: many pages; `z` is changed far from `a`'s pages (a page holding a changed byte of
        // any tensor is written from memory, whole).
        try SafeTensors.write(["a": Tensor.randn([300, 1000], seed: 1), "b": Tensor.randn([7, 5], seed: 2),
                               "c": Tensor.randn([1000], seed: 3), "z": Tensor.randn([300, 1000], seed: 4)], to: source)
        let file = try SafeTensorsFile(path: source)
        let a = try file.tensor("a"), b = try file.tensor("b"), c = try file.tensor("c"), z = try file.tensor("z")
        _ = a.toFloatArray()   // read, not written: still the file's
        z.storage.base.assumingMemoryBound(to: Float.self)[150_000] = 42
        let mapping = try #require(a.storage.owner as? FileMapping)
        #expect(mapping.unmodifiedOffset(of: a.storage.base, count: a.count * 4) != nil)
        #expect(mapping.unmodifiedOffset(of: z.storage.base, count: z.count * 4) == nil)
        #expect(mapping.unmodifiedOffset(of: a.storage.base, count: mapping.size) == nil, "past the mapping's end")
        let tensors = ["a": a, "b.t": b.transposed(0, 1), "c": c, "z": z, "d": a.narrowed(dim: 0, start: 10, length: 5), "e": b * 2]
        let target = folder + "/copy.safetensors"
        try SafeTensors.write(tensors, to: target)
        let back = try SafeTensorsFile(path: target)
        for (name, t) in tensors {
            #expect(try back.tensor(name).toFloatArray() == t.toFloatArray(), "\(name)")
        }
        #expect(try back.tensor("z").toFloatArray()[150_000] == 42)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == SafeTensors.encode(tensors))
    }
}
