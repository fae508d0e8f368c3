#!/usr/bin/env python3
"""A hostile input set against the tcompile CLI and the C API of a compiled model (issue #21).

Each case is a hand-made hostile input (a config.json, a safetensors header, a model.json graph or
manifest, a tokenizer file, a flag, a C API call) run in its own process with a time limit. Its
outcome is classified:

  clear error     the command failed with one `tcompile: error:` line naming what it was told to
                  name (a file, field, tensor, flag), or a C call returned the status it should;
  correct result  a valid but unusual input gave the answer an independent reference gives (the
                  interpreter for the C API, the same text given another way, ...);
  crash           a signal, a Swift runtime trap, a sanitizer report;
  hang            the time limit passed;
  wrong           an input that must be refused was accepted, a refusal did not say what was
                  wrong, or a result differed from its reference.

Only the standard library is used. Usage (from the repository root, after `swift build`):

  python3 scripts/hostile/hostile.py [--tcompile PATH] [--keep] [--only SUBSTRING]

It exits 1 when any case is a crash, a hang or wrong, and prints every case and the tally.
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "TransformersTests", "Fixtures")
SPM = os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures", "sentencepiece")
CLASSIFIER = os.path.join(ROOT, "samples", "classify", "model")

CRASH = re.compile(r"Fatal error|Segmentation fault|Illegal instruction|AddressSanitizer|Assertion failed|"
                   r"Trace/breakpoint|core dumped|Current stack trace|Crash in|precondition|Thread \d+ crashed")


class Case:
    def __init__(self, group, name, argv, expect, names=(), check=None, stdin=None, timeout=180, statuses=None):
        self.group, self.name, self.argv, self.expect = group, name, argv, expect
        self.names, self.check, self.stdin, self.timeout, self.statuses = list(names), check, stdin, timeout, statuses
        self.outcome, self.note, self.stdout, self.stderr, self.seconds = None, "", "", "", 0.0


class Suite:
    def __init__(self, tcompile, work):
        self.tc, self.work, self.cases = tcompile, work, []
        self.env = dict(os.environ, TCOMPILE_CACHE_DIR=os.path.join(work, "cache"), SWIFT_BACKTRACE="enable=no")

    def add(self, *args, **kwargs):
        self.cases.append(Case(*args, **kwargs))

    # Files -------------------------------------------------------------------------------------
    def path(self, *parts):
        p = os.path.join(self.work, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def write(self, rel, data):
        p = self.path(rel)
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return p

    def checkpoint(self, name, fixture, edit=None, raw_config=None, files=None):
        """A copy of a fixture checkpoint whose config.json is edited (a function of the dict) or
        replaced by raw text; `files` adds or replaces other files (name → bytes)."""
        d = self.path("ckpt", name, "x")[:-2]
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(fixture, d)
        if raw_config is not None:
            self.write(os.path.join("ckpt", name, "config.json"), raw_config)
        elif edit is not None:
            with open(os.path.join(d, "config.json")) as f:
                config = json.load(f)
            edit(config)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(config, f)
        for fname, data in (files or {}).items():
            self.write(os.path.join("ckpt", name, fname), data)
        return d

    def export(self, group, name, directory, expect, names=(), extra=(), check=None):
        out = self.path("export", name, "model.json")
        self.add(group, name, [self.tc, "export", directory, "-o", out, "--max-seq", "16", "--max-batch", "2", "-q", *extra],
                 expect, names, check)


def safetensors(tensors, metadata=None, header_override=None, pad=b" "):
    """Bytes of a safetensors file from {name: (dtype, shape, bytes)}; `header_override` replaces the
    header JSON text (the data stays as built)."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = (header_override if header_override is not None else json.dumps(header)).encode()
    text += pad * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        a, b = entry["data_offsets"]
        raw = blob[8 + n + a:8 + n + b]
        fmt = {"F32": "f", "I64": "q", "I32": "i"}[entry["dtype"]]
        out[name] = list(struct.unpack("<%d%s" % (len(raw) // struct.calcsize(fmt), fmt), raw))
    return out


def i64(values):
    return struct.pack("<%dq" % len(values), *values)


def close(a, b, tolerance=1e-3):
    return len(a) == len(b) and all(abs(x - y) <= tolerance * (1 + abs(x)) for x, y in zip(a, b))


# The cases ---------------------------------------------------------------------------------------

def build(s):
    tc, W = s.tc, s.work
    F = FIXTURES

    # The reference model: the shipped classifier exported (batch ≤ 2, seq ≤ 32), compiled as `hm`,
    # and its eager outputs on ids 1…8 (the C API's "run" case must equal them).
    base = s.path("base", "model.json")
    subprocess.run([tc, "export", CLASSIFIER, "-o", base, "--max-batch", "2", "--max-seq", "32", "--name", "hm", "-q"],
                   check=True, env=s.env)
    lib = s.path("lib", "x")[:-2]
    subprocess.run([tc, base, "-o", lib, "-q"], check=True, env=s.env)
    capi = s.path("capi")
    subprocess.run(["cc", "-std=c11", "-O1", os.path.join(ROOT, "scripts", "hostile", "capi.c"), "-I", lib, "-L", lib,
                    "-lhm", "-lm", "-lpthread", "-o", capi], check=True)
    ids = list(range(1, 9))
    inputs = s.write("inputs/ids.safetensors", safetensors({"input_ids": ("I64", [1, 8], i64(ids)),
                                                             "attention_mask": ("I64", [1, 8], i64([1] * 8)),
                                                             "token_type_ids": ("I64", [1, 8], i64([0] * 8))}))
    eager_out = s.path("inputs", "eager.safetensors")
    subprocess.run([tc, "run", base, "--eager", "--inputs", inputs, "-o", eager_out], check=True, env=s.env,
                   stdout=subprocess.DEVNULL)
    reference = read_safetensors(eager_out)["logits"]
    weights = os.path.join(lib, "hm.weights")
    with open(weights, "rb") as f:
        good = f.read()

    def logits_match(out, _):
        m = re.search(r"logits ([-\d. ]+)", out)
        return m is not None and close([float(v) for v in m.group(1).split()], reference[:4])

    # --- C API: weights files -----------------------------------------------------------------
    G = "C API: NAME_create"
    s.add(G, "own weights load", [capi, "create", weights], "capi", statuses=[0])
    for name, data in [("empty file", b""), ("8 bytes", good[:8]), ("header only", good[:96]),
                       ("truncated by one byte", good[:-1]), ("half the file", good[:len(good) // 2]),
                       ("one trailing byte", good + b"\0"), ("a megabyte of trailing zeros", good + b"\0" * (1 << 20)),
                       ("magic changed", b"XXXX" + good[4:]), ("hash byte flipped", good[:20] + bytes([good[20] ^ 1]) + good[21:]),
                       ("all 0xFF", b"\xff" * len(good)), ("safetensors file instead", open(inputs, "rb").read()),
                       ("model.json instead", open(base, "rb").read())]:
        p = s.write("weights/" + name.replace(" ", "-"), data)
        s.add(G, name, [capi, "create", p], "capi", statuses=[4, 6])
    last_table_byte = s.write("weights/last-byte-flipped", good[:-1] + bytes([good[-1] ^ 0x40]))
    s.add(G, "last data byte flipped (a weight value: trusted, or refused by the hash)", [capi, "run", last_table_byte], "capi",
          statuses=[0, 4, 6])
    s.add(G, "a directory", [capi, "create", lib], "capi", statuses=[4])
    s.add(G, "a missing file", [capi, "create", os.path.join(W, "nope.weights")], "capi", statuses=[4])
    s.add(G, "/dev/zero", [capi, "create", "/dev/zero"], "capi", statuses=[4], timeout=30)
    fifo = s.path("weights", "fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    s.add(G, "a FIFO nobody writes", [capi, "create", fifo], "capi", statuses=[4], timeout=30)
    s.add(G, "NULL path", [capi, "create-null-path", weights], "capi", statuses=[1])
    s.add(G, "NULL model pointer", [capi, "create-null-out", weights], "capi", statuses=[1])
    s.add(G, "create_embedded on a library without embedded weights", [capi, "create-embedded", weights], "capi", statuses=[4, 1])
    s.add(G, "create_embedded with NULL", [capi, "create-embedded-null", weights], "capi", statuses=[1])
    G = "C API: NAME_run"
    s.add(G, "a valid call equals the interpreter", [capi, "run", weights], "capi", statuses=[0], check=logits_match)
    s.add(G, "a second call with a dirtied workspace gives the same logits", [capi, "run-twice", weights], "capi", statuses=[0])
    s.add(G, "dims at their upper bounds", [capi, "run-max", weights], "capi", statuses=[0])
    for case, statuses in [("run-null-model", [1]), ("run-null-dims", [1]), ("run-null-inputs", [1]), ("run-null-input", [1]),
                           ("run-null-outputs", [1]), ("run-null-output", [1]), ("run-null-workspace", [1])]:
        s.add(G, case.replace("-", " "), [capi, case, weights], "capi", statuses=statuses)
    for b, q in [(0, 8), (1, 0), (3, 8), (1, 33), (-1, 8), (1, -8), (2**63 - 1, 8), (-2**63, 8), (1, 2**62), (2**32 + 1, 2**32 + 1)]:
        s.add(G, "dims batch=%d seq=%d" % (b, q), [capi, "dims:%d:%d" % (b, q), weights], "capi", statuses=[3])
    s.add(G, "seq=1 (a one-token sequence: valid)", [capi, "dims:1:1", weights], "capi", statuses=[0])
    for v in [-1, 511, 512, 2**31, 2**63 - 1, -2**63]:
        s.add(G, "token id %d" % v, [capi, "id:%d" % v, weights], "capi", statuses=[2])
    s.add(G, "token id 510 (the last one: valid)", [capi, "id:510", weights], "capi", statuses=[0])
    s.add(G, "token id -1 at position 31 of 32", [capi, "id-last:-1", weights], "capi", statuses=[2])
    for v in [2, -1, 2**40]:
        s.add(G, "token type %d" % v, [capi, "type:%d" % v, weights], "capi", statuses=[2])
    G = "C API: other calls"
    for t, statuses in [(-1, [1]), (0, [0]), (1, [0]), (3, [0]), (1000, [0]), (2**31 - 1, [0]), (-2**31, [1])]:
        s.add(G, "set_threads %d, then a run" % t, [capi, "threads:%d" % t, weights], "capi", statuses=statuses,
              check=lambda out, _: "run-after 0" in out and logits_match(out, _))
    s.add(G, "error_message of every code and of unknown codes", [capi, "messages", weights], "capi", statuses=[0])
    s.add(G, "destroy(NULL)", [capi, "destroy-null", weights], "capi", statuses=[0])
    for index, b, q, want in [(0, 1, 8, [4]), (0, 2, 32, [8]), (1, 1, 8, [-1]), (-1, 1, 8, [-1]), (0, 0, 8, [0, -1]), (0, 3, 8, [12, -1]),
                              (0, -5, 8, [-1]), (0, 2**62, 8, [-1])]:
        s.add(G, "output_elements(%d) at batch=%d seq=%d" % (index, b, q), [capi, "elements:%d:%d:%d" % (index, b, q), weights],
              "capi", statuses=want)
    s.add(G, "output_elements with NULL dims", [capi, "elements-null", weights], "capi", statuses=[-1])

    # --- Flags -----------------------------------------------------------------------------------
    G = "flags"
    dims = ["--dims", "batch=1,seq=8"]
    for flags, name in [(["--threads", "0"], "--threads"), (["--threads", "-3"], "--threads"), (["--threads", "257"], "--threads"),
                        (["--threads", "nine"], "--threads"), (["-O3"], "-O"), (["-O", "-1"], "-O"), (["-Ofast"], "-O"),
                        (["--dims", "seq"], "seq"), (["--dims", "seq="], "seq"), (["--dims", "batch=1,seq=8,seq=9"], "seq"),
                        (["--dims", "depth=3"], "depth"), (["--dims", "batch=1,seq=99999999999999999999"], "seq"),
                        (["--dims", "batch=1,seq=33"], "seq"), (["--dims", "batch=0,seq=8"], "batch"),
                        (["--dims", "batch=1,seq=0x10"], "seq"), (["--dims", "batch=1;seq=8"], "batch")]:
        s.add(G, "run " + " ".join(flags), [tc, "run", base, "--eager", *(dims if "--dims" not in flags else []), *flags], "error", [name])
    for flags, name in [(["--emit", "obj,nope"], "nope"), (["--name", "1abc"], "1abc"), (["--name", "a-b"], "a-b"), (["--name", ""], "name"),
                        (["--dump-after", "no-such-pass"], "no-such-pass"), (["-O", "7"], "-O")]:
        s.add(G, "compile " + " ".join(flags), [tc, base, "-o", s.path("out", "flags", "x")[:-2], *flags], "error", [name])
    regular = s.write("out/a-regular-file", "keep me\n")
    s.add(G, "compile -o onto a regular file", [tc, base, "-o", regular], "error", ["a-regular-file"],
          check=None)
    s.add(G, "bench --repetitions 0", [tc, "bench", base, *dims, "--repetitions", "0"], "error", ["repetitions"])
    s.add(G, "bench --repetitions=-5", [tc, "bench", base, *dims, "--repetitions=-5"], "error", ["repetitions"])
    s.add(G, "run --top-k 0 with text", [tc, "run", base, "--tokenizer", CLASSIFIER, "--text", "the match", "--top-k", "0"], "error", ["top-k"])
    s.add(G, "run --top-k -1 with text", [tc, "run", base, "--tokenizer", CLASSIFIER, "--text", "the match", "--top-k", "-1"], "error", ["top-k"])
    s.add(G, "run --top-k 1000 with text (more than the 4 labels: all 4)", [tc, "run", base, "--tokenizer", CLASSIFIER, "--text",
          "the match", "--top-k", "1000", "--json"], "ok", check=lambda out, _: out.count('"label"') == 4)
    s.add(G, "run --text without --tokenizer", [tc, "run", base, "--text", "hello"], "error", ["tokenizer"])
    s.add(G, "run --text-pair without --text", [tc, "run", base, "--tokenizer", CLASSIFIER, "--text-pair", "x"], "error", ["text-pair"])
    s.add(G, "run two --text-pair for one --text", [tc, "run", base, "--tokenizer", CLASSIFIER, "--text", "a", "--text-pair", "x",
          "--text-pair", "y"], "error", ["text-pair"])
    s.add(G, "run --question without --context", [tc, "run", base, "--tokenizer", CLASSIFIER, "--question", "why?"], "error", ["context"])
    s.add(G, "run --inputs and --text together", [tc, "run", base, "--inputs", inputs, "--tokenizer", CLASSIFIER, "--text", "a"],
          "error", ["--inputs"])
    s.add(G, "run -o onto the model.json itself", [tc, "run", base, "--inputs", inputs, "-o", base], "error", ["model.json"])
    s.add(G, "export --max-batch 0", [tc, "export", CLASSIFIER, "-o", s.path("out", "mb0", "model.json"), "--max-batch", "0"], "error",
          ["--max-batch"])
    s.add(G, "export --max-seq 1", [tc, "export", CLASSIFIER, "-o", s.path("out", "ms1", "model.json"), "--max-seq", "1"], "error", ["--max-seq"])
    s.add(G, "export --max-seq 65 (positions: 64)", [tc, "export", CLASSIFIER, "-o", s.path("out", "ms65", "model.json"), "--max-seq", "65"],
          "error", ["--max-seq", "64"])
    s.add(G, "export --max-batch 2^40", [tc, "export", CLASSIFIER, "-o", s.path("out", "mbh", "model.json"), "--max-batch", str(2**40), "--max-seq", "16"],
          "error", ["batch"])
    s.add(G, "export --task no-such-task", [tc, "export", CLASSIFIER, "-o", s.path("out", "task", "model.json"), "--task", "no-such-task"],
          "error", ["no-such-task"])
    s.add(G, "export --task fill-mask on a classifier checkpoint", [tc, "export", CLASSIFIER, "-o", s.path("out", "fm", "model.json"),
          "--task", "fill-mask"], "error", ["cls.predictions"])
    s.add(G, "export -o an existing directory", [tc, "export", CLASSIFIER, "-o", lib], "error", ["lib"])

    # --- Texts: --text-file and --text - ---------------------------------------------------------
    G = "texts"
    plain = s.write("texts/plain.txt", "the team won the match\nbake the bread for an hour\n")
    crlf = s.write("texts/crlf.txt", "the team won the match\r\nbake the bread for an hour\r\n")
    blank = s.write("texts/blank-lines.txt", "\n\nthe team won the match\n\n   \nbake the bread for an hour\n\n")
    run_text = [tc, "run", base, "--eager", "--tokenizer", CLASSIFIER, "--json"]
    s.add(G, "reference: two --text", run_text + ["--text", "the team won the match", "--text", "bake the bread for an hour"], "ok",
          check=lambda out, _: out.count('"label"') == 2)
    same = lambda out, results: strip_times(out) == strip_times(results["texts/reference: two --text"].stdout)
    s.add(G, "--text-file, LF", run_text + ["--text-file", plain], "ok", check=same)
    s.add(G, "--text-file, CRLF", run_text + ["--text-file", crlf], "ok", check=same)
    s.add(G, "--text-file with blank lines", run_text + ["--text-file", blank], "ok", check=same)
    s.add(G, "--text - from stdin", run_text + ["--text", "-"], "ok", check=same, stdin=open(plain, "rb").read())
    s.add(G, "--text-file empty", run_text + ["--text-file", s.write("texts/empty.txt", "")], "error", ["empty.txt"])
    s.add(G, "--text-file only whitespace", run_text + ["--text-file", s.write("texts/ws.txt", " \n\t\n\r\n")], "error", ["ws.txt"])
    s.add(G, "--text - with empty stdin", run_text + ["--text", "-"], "error", ["stdin"], stdin=b"")
    s.add(G, "--text-file missing", run_text + ["--text-file", os.path.join(W, "texts", "nope.txt")], "error", ["nope.txt"])
    s.add(G, "--text-file a directory", run_text + ["--text-file", os.path.join(W, "texts")], "error", ["texts"])
    s.add(G, "--text-file invalid UTF-8", run_text + ["--text-file", s.write("texts/latin1.txt", b"caf\xe9 au lait\n")], "error", ["latin1.txt"])
    s.add(G, "--text-file with a NUL byte", run_text + ["--text-file", s.write("texts/nul.txt", b"the \x00 match\n")], "ok",
          check=lambda out, _: out.count('"label"') == 1)
    s.add(G, "--text-file of 3 lines with --max-batch 2", run_text + ["--text-file", s.write("texts/three.txt", "a\nb\nc\n")], "error",
          ["batch"])
    s.add(G, "--text-file with a line longer than max-seq (truncated)", run_text + ["--text-file",
          s.write("texts/long.txt", ("word " * 500) + "\n")], "ok", check=lambda out, _: out.count('"label"') == 1)
    fifo_text = s.path("texts", "fifo")
    if not os.path.exists(fifo_text):
        os.mkfifo(fifo_text)
    s.add(G, "--text-file a FIFO nobody writes", run_text + ["--text-file", fifo_text], "error", ["fifo"], timeout=60)

    # --- --inputs safetensors --------------------------------------------------------------------
    G = "run --inputs"
    run_in = lambda p: [tc, "run", base, "--eager", "--inputs", p]
    ok3 = {"input_ids": ("I64", [1, 8], i64(ids)), "attention_mask": ("I64", [1, 8], i64([1] * 8)), "token_type_ids": ("I64", [1, 8], i64([0] * 8))}
    def variant(name, change, expect, names):
        t = dict(ok3)
        change(t)
        s.add(G, name, run_in(s.write("inputs/" + re.sub(r"\W+", "-", name) + ".safetensors", safetensors(t))), expect, names)
    variant("input_ids as I32", lambda t: t.__setitem__("input_ids", ("I32", [1, 8], struct.pack("<8i", *ids))), "error", ["input_ids"])
    variant("input_ids as F32", lambda t: t.__setitem__("input_ids", ("F32", [1, 8], struct.pack("<8f", *ids))), "error", ["input_ids"])
    variant("input_ids of rank 1", lambda t: t.__setitem__("input_ids", ("I64", [8], i64(ids))), "error", ["input_ids"])
    variant("input_ids of rank 3", lambda t: t.__setitem__("input_ids", ("I64", [1, 8, 1], i64(ids))), "error", ["input_ids"])
    variant("mask of another seq", lambda t: t.__setitem__("attention_mask", ("I64", [1, 7], i64([1] * 7))), "error", ["attention_mask"])
    variant("token_type_ids missing", lambda t: t.pop("token_type_ids"), "error", ["token_type_ids"])
    variant("an extra tensor", lambda t: t.__setitem__("position_ids", ("I64", [1, 8], i64(range(8)))), "error", ["position_ids"])
    variant("input_ids 0 × 8", lambda t: [t.__setitem__(k, ("I64", [0, 8], b"")) for k in list(t)], "error", ["batch"])
    variant("an id past the vocabulary", lambda t: t.__setitem__("input_ids", ("I64", [1, 8], i64(ids[:7] + [511]))), "error", ["511"])
    variant("a token type of 2", lambda t: t.__setitem__("token_type_ids", ("I64", [1, 8], i64([0] * 7 + [2]))), "error", ["token_type"])
    variant("BF16 input_ids", lambda t: t.__setitem__("input_ids", ("BF16", [1, 8], b"\0" * 16)), "error", ["input_ids"])
    bad = safetensors(ok3)
    s.add(G, "header length past the file", run_in(s.write("inputs/hlen.safetensors", struct.pack("<Q", 1 << 40) + bad[8:])), "error",
          ["hlen.safetensors"])
    s.add(G, "header with trailing garbage after the JSON", run_in(s.write("inputs/trail.safetensors",
          safetensors(ok3, header_override=json.dumps({k: {"dtype": v[0], "shape": v[1], "data_offsets": [64 * i, 64 * i + 64]}
                                                        for i, (k, v) in enumerate(ok3.items())}) + "xyz"))), "error", ["trail.safetensors"])
    s.add(G, "header padded with NUL bytes", run_in(s.write("inputs/nulpad.safetensors", safetensors(ok3, header_override=json.dumps({
          "input_ids": {"dtype": "I64", "shape": [1, 8], "data_offsets": [0, 64]}, "attention_mask": {"dtype": "I64", "shape": [1, 8],
          "data_offsets": [64, 128]}, "token_type_ids": {"dtype": "I64", "shape": [1, 8], "data_offsets": [128, 192]}}) + "\0" * 8))), "error",
          ["nulpad.safetensors"])
    s.add(G, "data_offsets reversed", run_in(s.write("inputs/rev.safetensors", safetensors(ok3, header_override=json.dumps({
          "input_ids": {"dtype": "I64", "shape": [1, 8], "data_offsets": [64, 0]}, "attention_mask": {"dtype": "I64", "shape": [1, 8],
          "data_offsets": [64, 128]}, "token_type_ids": {"dtype": "I64", "shape": [1, 8], "data_offsets": [128, 192]}})))), "error",
          ["input_ids"])
    s.add(G, "tensors overlapping", run_in(s.write("inputs/overlap.safetensors", safetensors(ok3, header_override=json.dumps({
          "input_ids": {"dtype": "I64", "shape": [1, 8], "data_offsets": [0, 64]}, "attention_mask": {"dtype": "I64", "shape": [1, 8],
          "data_offsets": [0, 64]}, "token_type_ids": {"dtype": "I64", "shape": [1, 8], "data_offsets": [128, 192]}})))), "error",
          ["overlap.safetensors"])
    s.add(G, "a shape of [1, -8]", run_in(s.write("inputs/neg.safetensors", safetensors(ok3, header_override=json.dumps({
          "input_ids": {"dtype": "I64", "shape": [1, -8], "data_offsets": [0, 64]}, "attention_mask": {"dtype": "I64", "shape": [1, 8],
          "data_offsets": [64, 128]}, "token_type_ids": {"dtype": "I64", "shape": [1, 8], "data_offsets": [128, 192]}})))), "error",
          ["input_ids"])
    s.add(G, "a shape of [[1], 8]", run_in(s.write("inputs/nested.safetensors", safetensors(ok3, header_override=json.dumps({
          "input_ids": {"dtype": "I64", "shape": [[1], 8], "data_offsets": [0, 64]}, "attention_mask": {"dtype": "I64", "shape": [1, 8],
          "data_offsets": [64, 128]}, "token_type_ids": {"dtype": "I64", "shape": [1, 8], "data_offsets": [128, 192]}})))), "error",
          ["input_ids"])
    s.add(G, "__metadata__ with a number", run_in(s.write("inputs/meta.safetensors", safetensors(ok3, metadata={"format": 3}))), "error",
          ["__metadata__"])
    s.add(G, "a UTF-8 BOM before the header", run_in(s.write("inputs/bom.safetensors", safetensors(ok3, header_override="\ufeff" + json.dumps(
          {"input_ids": {"dtype": "I64", "shape": [1, 8], "data_offsets": [0, 64]}, "attention_mask": {"dtype": "I64", "shape": [1, 8],
           "data_offsets": [64, 128]}, "token_type_ids": {"dtype": "I64", "shape": [1, 8], "data_offsets": [128, 192]}})))), "error",
          ["bom.safetensors"])
    s.add(G, "a tensor name with a path", run_in(s.write("inputs/path.safetensors", safetensors(dict(ok3, **{"../../input_ids":
          ("I64", [1, 8], i64(ids))})))), "error", ["../../input_ids"])

    # --- model.json graphs (tcompile.graph/1) ----------------------------------------------------
    G = "model.json graph"
    with open(base) as f:
        graph = json.load(f)

    def mutant(name, change, expect="error", names=(), command="inspect"):
        g = json.loads(json.dumps(graph))
        change(g)
        d = s.path("graphs", re.sub(r"\W+", "-", name), "model.json")
        with open(d, "w") as f:
            json.dump(g, f)
        weights_name = graph["constants"]
        target = os.path.join(os.path.dirname(d), weights_name)
        if not os.path.exists(target) and not os.path.isabs(g.get("constants", "")) and g.get("constants") == weights_name:
            os.symlink(os.path.join(os.path.dirname(base), weights_name), target)
        argv = [tc, "inspect", d] if command == "inspect" else [tc, "run", d, "--eager", "--dims", "batch=1,seq=8"]
        s.add(G, name, argv, expect, names)

    def node(g, op):
        return next(n for n in g["nodes"] if n["op"] == op)

    def nodes(g, op):
        return [n for n in g["nodes"] if n["op"] == op]

    s.add(G, "reference graph loads", [tc, "inspect", base], "ok", check=lambda out, _: "input_ids" in out)
    mutant("constants path escaping the folder", lambda g: g.__setitem__("constants", "../../../../../../etc/passwd"), names=["constants"])
    mutant("constants path absolute", lambda g: g.__setitem__("constants", "/dev/zero"), names=["constants"])
    mutant("constants path a directory", lambda g: g.__setitem__("constants", "."), names=["constants"])
    mutant("constants path empty", lambda g: g.__setitem__("constants", ""), names=["constants"])
    mutant("a constant named but absent from the file", lambda g: node(g, "constant")["attributes"].__setitem__("name", '"no.such.weight"'),
           names=["no.such.weight"])
    mutant("a constant typed with another shape", lambda g: node(g, "constant")["type"].__setitem__("shape", [7, 3]), names=["constant"])
    mutant("a constant typed i64", lambda g: node(g, "constant")["type"].__setitem__("dtype", "i64"), names=["constant"])
    mutant("layer_norm normalized_rank 0", lambda g: node(g, "layer_norm")["attributes"].__setitem__("normalized_rank", "0"),
           names=["layer_norm"])
    mutant("slice dim 9", lambda g: node(g, "slice")["attributes"].__setitem__("dim", "9"), names=["slice"])
    mutant("permute with a repeated axis", lambda g: [n["attributes"].__setitem__("perm", "[0, 0, 1, 3]") for n in nodes(g, "permute")][:1],
           names=["permute"])
    mutant("an arange of dtype f64", lambda g: node(g, "arange")["attributes"].__setitem__("dtype", "f64"), names=["arange"])
    mutant("index_select dim -1", lambda g: [n["attributes"].__setitem__("dim", "-1") for n in nodes(g, "index_select")][:1],
           names=["index_select"])
    mutant("an attribute the op does not have", lambda g: [n.setdefault("attributes", {}).__setitem__("alpha", "2") for n in nodes(g, "matmul")][:1],
           names=["alpha"])
    mutant("a duplicate node id", lambda g: g["nodes"][5].__setitem__("id", g["nodes"][4]["id"]), names=["%"])
    mutant("a node using a later node", lambda g: g["nodes"][5].__setitem__("inputs", [g["nodes"][-1]["id"]]), names=["%"])
    mutant("an output naming no node", lambda g: g["outputs"][0].__setitem__("value", 999999), names=["999999"])
    mutant("two outputs with one name", lambda g: g["outputs"].append(dict(g["outputs"][0])), names=["logits"])
    mutant("no outputs", lambda g: g.__setitem__("outputs", []), names=["output"])
    mutant("an input with no name attribute", lambda g: node(g, "input").__setitem__("attributes", {}), names=["name"])
    mutant("two inputs with one name", lambda g: [n["attributes"].__setitem__("name", '"input_ids"') for n in nodes(g, "input")][:3],
           names=["input_ids"])
    mutant("symbol min above max", lambda g: g["symbols"][0].update({"min": 5, "max": 2}), names=["symbols"])
    mutant("symbol max 0", lambda g: g["symbols"][-1].update({"max": 0, "min": 0}), names=["seq"])
    mutant("symbol max as a string", lambda g: g["symbols"][0].__setitem__("max", "8"), names=["max"])
    mutant("symbol max 1.5", lambda g: g["symbols"][0].__setitem__("max", 1.5), names=["max"])
    mutant("symbol name with a space", lambda g: g["symbols"][0].__setitem__("name", "ba tch"), names=["ba tch"])
    mutant("a dim expression with a division", lambda g: node(g, "input")["type"].__setitem__("shape", ["batch", "seq/2"]), names=["seq/2"])
    mutant("a dim expression over an undeclared symbol", lambda g: node(g, "input")["type"].__setitem__("shape", ["batch", "len"]),
           names=["len"])
    mutant("an input of rank 0", lambda g: node(g, "input")["type"].__setitem__("shape", []), names=["input"])
    mutant("format tcompile.graph/2", lambda g: g.__setitem__("format", "tcompile.graph/2"), names=["format"])
    mutant("name not a string", lambda g: g.__setitem__("name", 7), names=["name"])
    mutant("a fused_elementwise program reading x9", lambda g: [n["attributes"].__setitem__("program", '"x9 + x0"')
                                                                for n in nodes(g, "fused_elementwise")][:1] or
           node(g, "gelu").update({"op": "fused_elementwise", "attributes": {"program": '"x9 + x0"'}}), names=["x9"])
    mutant("fused_attention with 0 heads", lambda g: node(g, "attention").update({"op": "fused_attention", "attributes": {"heads": "0",
           "scale": "1.0", "causal": "false", "masked": "false", "kv_layout": '"merged"'}}), names=["heads"])
    mutant("a node with a location line -1", lambda g: g["nodes"][3].__setitem__("location", {"file": "x.swift", "line": -1}),
           expect="ok")

    # --- Manifests (tcompile.model/2) ------------------------------------------------------------
    G = "manifest"
    ckpt_link = s.path("manifests", "checkpoint")
    if not os.path.exists(ckpt_link):
        os.symlink(CLASSIFIER, ckpt_link)
    good_manifest = {"format": "tcompile.model/2", "name": "classify", "checkpoint": "checkpoint", "model_type": "bert",
                     "task": "text-classification", "dynamic_dims": {"batch": {"max": 2}, "seq": {"max": 16}},
                     "outputs": ["logits"], "options": {"threads": 1, "precision": "f32"}}

    def manifest(name, change, expect="error", names=()):
        m = json.loads(json.dumps(good_manifest))
        change(m)
        p = s.write("manifests/" + re.sub(r"\W+", "-", name) + ".json", json.dumps(m))
        s.add(G, name, [tc, "inspect", p], expect, names)

    manifest("reference manifest traces", lambda m: None, expect="ok")
    manifest("checkpoint missing", lambda m: m.__setitem__("checkpoint", "nowhere"), names=["nowhere"])
    manifest("checkpoint a file", lambda m: m.__setitem__("checkpoint", "checkpoint/config.json"), names=["config.json"])
    manifest("checkpoint the manifest's own folder (no config.json)", lambda m: m.__setitem__("checkpoint", "."), names=["config.json"])
    manifest("model_type disagrees with config.json", lambda m: m.__setitem__("model_type", "gpt2"), names=["model_type"])
    manifest("task the family does not serve", lambda m: m.__setitem__("task", "text-generation"), names=["text-generation"])
    manifest("task text2text-generation", lambda m: m.__setitem__("task", "text2text-generation"), names=["text2text-generation"])
    manifest("batch max 0", lambda m: m["dynamic_dims"]["batch"].__setitem__("max", 0), names=["batch"])
    manifest("seq max 1", lambda m: m["dynamic_dims"]["seq"].__setitem__("max", 1), names=["seq"])
    manifest("seq max past the positions", lambda m: m["dynamic_dims"]["seq"].__setitem__("max", 10**9), names=["seq"])
    manifest("an unknown dim", lambda m: m["dynamic_dims"].__setitem__("width", {"max": 3}), names=["width"])
    manifest("dim spec with min", lambda m: m["dynamic_dims"]["seq"].__setitem__("min", 2), names=["min"])
    manifest("threads 0", lambda m: m["options"].__setitem__("threads", 0), names=["threads"])
    manifest("threads 100000", lambda m: m["options"].__setitem__("threads", 100000), names=["threads"])
    manifest("precision bf16", lambda m: m["options"].__setitem__("precision", "bf16"), names=["precision"])
    manifest("name with a dash", lambda m: m.__setitem__("name", "my-model"), names=["my-model"])
    manifest("name empty", lambda m: m.__setitem__("name", ""), names=["name"])
    manifest("an output the task lacks", lambda m: m.__setitem__("outputs", ["hidden_states"]), names=["hidden_states"])
    manifest("outputs empty", lambda m: m.__setitem__("outputs", []), names=["outputs"])
    manifest("an unknown field", lambda m: m.__setitem__("precision", "f32"), names=["precision"])
    manifest("format tcompile.model/3", lambda m: m.__setitem__("format", "tcompile.model/3"), names=["format"])

    # --- config.json: the newer families ---------------------------------------------------------
    G = "config.json (Llama, Mistral, Qwen2)"
    llama = os.path.join(F, "llama-lm")

    def cfg(name, fixture, edit, expect="error", names=(), group=None):
        s.export(group or G, name, s.checkpoint(re.sub(r"\W+", "-", name), fixture, edit), expect, names)

    def rope(params):
        return lambda c: (c.pop("rope_parameters", None), c.__setitem__("rope_scaling", params))

    cfg("reference llama exports", llama, lambda c: None, expect="ok")
    cfg("rope_scaling linear without factor", llama, rope({"type": "linear"}), names=["factor"])
    cfg("rope_scaling linear factor 0", llama, rope({"rope_type": "linear", "factor": 0}), names=["factor"])
    cfg("rope_scaling linear factor -2", llama, rope({"rope_type": "linear", "factor": -2}), names=["factor"])
    cfg("rope_scaling linear factor as a string", llama, rope({"rope_type": "linear", "factor": "2"}), names=["factor"])
    cfg("rope_scaling dynamic factor 0.5", llama, rope({"rope_type": "dynamic", "factor": 0.5}), names=["factor"])
    cfg("rope_scaling yarn", llama, rope({"rope_type": "yarn", "factor": 4}), names=["yarn"])
    cfg("rope_scaling type and rope_type disagree", llama, rope({"type": "linear", "rope_type": "dynamic", "factor": 2}), expect="ok")
    cfg("rope_scaling llama3 without low_freq_factor", llama, rope({"rope_type": "llama3", "factor": 8, "high_freq_factor": 4}),
        names=["low_freq_factor"])
    cfg("rope_scaling llama3 low = high", llama, rope({"rope_type": "llama3", "factor": 8, "low_freq_factor": 4, "high_freq_factor": 4}),
        names=["low_freq_factor"])
    cfg("rope_scaling llama3 original_max_position_embeddings 0", llama, rope({"rope_type": "llama3", "factor": 8, "low_freq_factor": 1,
        "high_freq_factor": 4, "original_max_position_embeddings": 0}), names=["original_max_position_embeddings"])
    cfg("rope_scaling a list", llama, rope([1, 2]), names=["rope_scaling"])
    cfg("rope_theta 0", llama, lambda c: (c.pop("rope_parameters"), c.__setitem__("rope_theta", 0)), names=["rope_theta"])
    cfg("rope_theta -10000", llama, lambda c: c["rope_parameters"].__setitem__("rope_theta", -10000), names=["rope_theta"])
    cfg("partial_rotary_factor 0.5", llama, lambda c: c["rope_parameters"].__setitem__("partial_rotary_factor", 0.5),
        names=["partial_rotary_factor"])
    cfg("head_dim 0", llama, lambda c: c.__setitem__("head_dim", 0), names=["head_dim"])
    cfg("head_dim -8", llama, lambda c: c.__setitem__("head_dim", -8), names=["head_dim"])
    cfg("head_dim 7 (odd)", llama, lambda c: c.__setitem__("head_dim", 7), names=["head_dim"])
    cfg("head_dim 2^40", llama, lambda c: c.__setitem__("head_dim", 2**40), names=["head_dim"])
    cfg("head_dim 12 (checkpoint has 8)", llama, lambda c: c.__setitem__("head_dim", 12), names=["q_proj"])
    cfg("num_key_value_heads 0", llama, lambda c: c.__setitem__("num_key_value_heads", 0), names=["num_key_value_heads"])
    cfg("num_key_value_heads 2 of 3 heads", llama, lambda c: c.__setitem__("num_key_value_heads", 2), names=["num_key_value_heads"])
    cfg("num_key_value_heads 6 > 3 heads", llama, lambda c: c.__setitem__("num_key_value_heads", 6), names=["num_key_value_heads"])
    cfg("num_attention_heads 0", llama, lambda c: c.__setitem__("num_attention_heads", 0), names=["num_attention_heads"])
    cfg("rms_norm_eps -1", llama, lambda c: c.__setitem__("rms_norm_eps", -1), names=["rms_norm_eps"])
    cfg("hidden_act nope", llama, lambda c: c.__setitem__("hidden_act", "nope"), names=["hidden_act"])
    cfg("max_position_embeddings 4 (export asks 16)", llama, lambda c: c.__setitem__("max_position_embeddings", 4), names=["--max-seq"])
    cfg("vocab_size 0", llama, lambda c: c.__setitem__("vocab_size", 0), names=["vocab_size"])
    cfg("vocab_size 200 (checkpoint has 131)", llama, lambda c: c.__setitem__("vocab_size", 200), names=["embed_tokens"])
    cfg("bos_token_id past the vocabulary", llama, lambda c: c.__setitem__("bos_token_id", 131), names=["bos_token_id"])
    # transformers never matches a negative EOS id; generation here refuses it (DecodingLoop), export has no use for it.
    cfg("eos_token_id a list with -1", llama, lambda c: c.__setitem__("eos_token_id", [2, -1]), expect="either", names=["eos_token_id"])
    cfg("tie_word_embeddings true with an own lm_head", llama, lambda c: c.__setitem__("tie_word_embeddings", True), expect="ok")
    cfg("num_hidden_layers 3 (checkpoint has 2)", llama, lambda c: c.__setitem__("num_hidden_layers", 3), names=["layers.2"])
    cfg("num_hidden_layers 10^9", llama, lambda c: c.__setitem__("num_hidden_layers", 10**9), names=["layers"])
    cfg("attention_bias false (checkpoint has biases)", llama, lambda c: c.__setitem__("attention_bias", False), expect="ok")
    mistral, qwen = os.path.join(F, "mistral-lm"), os.path.join(F, "qwen2-sliding")
    cfg("reference mistral exports", mistral, lambda c: None, expect="ok")
    cfg("mistral sliding_window 0", mistral, lambda c: c.__setitem__("sliding_window", 0), names=["sliding_window"])
    cfg("mistral sliding_window -4", mistral, lambda c: c.__setitem__("sliding_window", -4), names=["sliding_window"])
    cfg("mistral sliding_window 1 (each token sees itself)", mistral, lambda c: c.__setitem__("sliding_window", 1), expect="ok")
    cfg("mistral sliding_window 2^62", mistral, lambda c: c.__setitem__("sliding_window", 2**62), expect="ok")
    cfg("mistral sliding_window as a string", mistral, lambda c: c.__setitem__("sliding_window", "4"), names=["sliding_window"])
    cfg("reference qwen2 exports", qwen, lambda c: None, expect="ok")
    cfg("qwen2 max_window_layers -1, no layer_types (every layer windowed, as i >= -1)", qwen, lambda c: (
        c.__setitem__("max_window_layers", -1), c.__setitem__("use_sliding_window", True), c.pop("layer_types")), expect="ok")
    cfg("qwen2 max_window_layers 99", qwen, lambda c: c.__setitem__("max_window_layers", 99), expect="ok")
    cfg("qwen2 layer_types too short", qwen, lambda c: c.__setitem__("layer_types", ["full_attention"]), names=["layer_types"])
    cfg("qwen2 layer_types unknown kind", qwen, lambda c: c.__setitem__("layer_types", ["full_attention", "chunked_attention"]),
        names=["layer_types"])
    cfg("qwen2 use_sliding_window true without sliding_window (full attention, as transformers)", qwen, lambda c: (
        c.__setitem__("use_sliding_window", True), c.__setitem__("sliding_window", None), c.pop("layer_types", None)), expect="either",
        names=["sliding_window"])

    G = "config.json (BART, T5)"
    bart, t5 = os.path.join(F, "bart-model"), os.path.join(F, "t5-v1_1")
    cfg("reference bart: export refuses the task", bart, lambda c: None, names=["text2text-generation", "BART"], group=G)
    for name, edit, names in [("bart d_model 0", lambda c: c.__setitem__("d_model", 0), ["d_model"]),
                              ("bart encoder_attention_heads 5 not dividing d_model", lambda c: c.__setitem__("encoder_attention_heads", 5),
                               ["encoder_attention_heads"]),
                              ("bart max_position_embeddings -1", lambda c: c.__setitem__("max_position_embeddings", -1), ["max_position_embeddings"]),
                              ("bart activation_function nope", lambda c: c.__setitem__("activation_function", "nope"), ["activation_function"]),
                              ("bart decoder_start_token_id past the vocabulary", lambda c: c.__setitem__("decoder_start_token_id", 10**6),
                               ["decoder_start_token_id"]),
                              ("bart scale_embedding a string", lambda c: c.__setitem__("scale_embedding", "yes"), ["scale_embedding"]),
                              ("bart encoder_layers 2^40", lambda c: c.__setitem__("encoder_layers", 2**40), ["encoder_layers"])]:
        cfg(name, bart, edit, names=names, group=G)
    cfg("reference t5: export refuses the task", t5, lambda c: None, names=["text2text-generation"], group=G)
    for name, edit, names in [("t5 relative_attention_num_buckets 2", lambda c: c.__setitem__("relative_attention_num_buckets", 2),
                               ["relative_attention_num_buckets"]),
                              ("t5 relative_attention_max_distance 0", lambda c: c.__setitem__("relative_attention_max_distance", 0),
                               ["relative_attention_max_distance"]),
                              ("t5 d_kv 0", lambda c: c.__setitem__("d_kv", 0), ["d_kv"]),
                              ("t5 feed_forward_proj gated-nope", lambda c: c.__setitem__("feed_forward_proj", "gated-nope"), ["feed_forward_proj"]),
                              ("t5 feed_forward_proj a-b-c", lambda c: c.__setitem__("feed_forward_proj", "gated-gelu-extra"), ["feed_forward_proj"]),
                              ("t5 num_decoder_layers -1", lambda c: c.__setitem__("num_decoder_layers", -1), ["num_decoder_layers"]),
                              ("t5 layer_norm_epsilon -1", lambda c: c.__setitem__("layer_norm_epsilon", -1), ["layer_norm_epsilon"]),
                              ("t5 num_heads 2^40", lambda c: c.__setitem__("num_heads", 2**40), ["num_heads"])]:
        cfg(name, t5, edit, names=names, group=G)

    G = "config.json (raw text)"
    for name, text, names in [("a JSON array", "[1, 2]", ["config.json"]), ("empty", "", ["config.json"]),
                              ("a number too large for a double", '{"model_type": "llama", "vocab_size": 1e400}', ["vocab_size"]),
                              ("NaN as a bare word", '{"model_type": "llama", "rms_norm_eps": NaN}', ["config.json"]),
                              ("rope factor 1e400", '{"model_type": "llama", "rope_scaling": {"rope_type": "linear", "factor": 1e400}}',
                               ["factor"]),
                              ("model_type null", '{"model_type": null}', ["model_type"]),
                              ("model_type llama4 (unsupported)", '{"model_type": "llama4"}', ["llama4"]),
                              ("a UTF-16 file", '{"model_type": "llama"}'.encode("utf-16"), ["config.json"]),
                              ("a key with a lone surrogate escape", '{"model_type": "llama", "\\ud800": 1}', ["config.json"])]:
        d = s.checkpoint("raw-" + re.sub(r"\W+", "-", name), llama, raw_config=text)
        s.export(G, name, d, "error", names)

    # --- Checkpoint headers ----------------------------------------------------------------------
    G = "model.safetensors"
    with open(os.path.join(llama, "model.safetensors"), "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header, data = json.loads(blob[8:8 + n]), blob[8 + n:]

    def ckpt_header(name, change, expect="error", names=(), data_change=None):
        h = json.loads(json.dumps(header))
        change(h)
        text = json.dumps(h).encode()
        text += b" " * ((8 - len(text) % 8) % 8)
        body = data_change(data) if data_change else data
        d = s.checkpoint("st-" + re.sub(r"\W+", "-", name), llama, files={"model.safetensors": struct.pack("<Q", len(text)) + text + body})
        s.export(G, name, d, expect, names)

    emb = "model.embed_tokens.weight"
    key = next(k for k in header if k != "__metadata__" and k != emb)
    ckpt_header("reference header (unchanged)", lambda h: None, expect="ok")
    ckpt_header("embeddings transposed", lambda h: h[emb].__setitem__("shape", h[emb]["shape"][::-1]), names=[emb])
    ckpt_header("a tensor as F64 with the same bytes", lambda h: h[key].__setitem__("dtype", "F64"), names=[key])
    ckpt_header("a tensor as F8_E4M3", lambda h: h[key].__setitem__("dtype", "F8_E4M3"), names=["F8_E4M3"])
    ckpt_header("a tensor as BOOL", lambda h: h[key].__setitem__("dtype", "BOOL"), names=[key])
    ckpt_header("a tensor missing (its bytes left as a gap)", lambda h: h.pop(key), names=["model.safetensors"])
    ckpt_header("a tensor renamed with a NUL", lambda h: h.__setitem__(key + "\u0000", h.pop(key)), names=[key])
    ckpt_header("data one byte short", lambda h: None, names=["model.safetensors"], data_change=lambda d: d[:-1])
    ckpt_header("data one byte long", lambda h: None, names=["model.safetensors"], data_change=lambda d: d + b"\0")
    ckpt_header("offsets as floats", lambda h: h[key].__setitem__("data_offsets", [float(x) for x in h[key]["data_offsets"]]), names=[key])
    ckpt_header("a shape with a 0 dim", lambda h: h[key].__setitem__("shape", [0] + h[key]["shape"][1:]), names=[key])
    ckpt_header("NaN weights (values are trusted)", lambda h: None, expect="ok", data_change=lambda d: b"\x00\x7e" * (len(d) // 2))
    sharded = s.checkpoint("st-index", llama, files={
        "model.safetensors.index.json": json.dumps({"weight_map": {emb: "model-00002-of-00002.safetensors"}})})
    os.remove(os.path.join(sharded, "model.safetensors"))   # with model.safetensors present, the index is not read (as transformers)
    s.add(G, "an index file naming a missing shard", [tc, "export", sharded,
        "-o", s.path("export", "st-index", "model.json"), "--max-seq", "16", "-q"], "error", ["model-00002-of-00002.safetensors"])

    # --- Tokenizer files ---------------------------------------------------------------------------
    G = "tokenizers"
    tok = lambda d, text="hello world": [tc, "tokenize", "--tokenizer", d, "--text", text]
    with open(os.path.join(SPM, "unigram-identity", "tokenizer.json")) as f:
        unigram = json.load(f)

    def unigram_case(name, change, expect="error", names=(), text="hello world", check=None):
        t = json.loads(json.dumps(unigram))
        change(t)
        d = s.path("tok", re.sub(r"\W+", "-", name), "tokenizer.json")
        with open(d, "w") as f:
            json.dump(t, f)
        s.add(G, name, tok(os.path.dirname(d), text), expect, names, check)

    s.add(G, "reference unigram tokenizer.json", tok(os.path.join(SPM, "unigram-identity")), "ok",
          check=lambda out, _: re.fullmatch(r"[\d ]+\n", out) is not None)
    unigram_case("unigram empty vocab", lambda t: t["model"].__setitem__("vocab", []), names=["vocab"])
    unigram_case("unigram unk_id past the vocab", lambda t: t["model"].__setitem__("unk_id", 10**6), names=["unk_id"])
    unigram_case("unigram unk_id -1", lambda t: t["model"].__setitem__("unk_id", -1), names=["unk_id"])
    unigram_case("unigram a score as a string", lambda t: t["model"]["vocab"][5].__setitem__(1, "-1.5"), names=["vocab"])
    unigram_case("unigram an entry of one element", lambda t: t["model"]["vocab"].__setitem__(5, ["x"]), names=["vocab"])
    # The ids these valid-but-odd files must give are what Hugging Face tokenizers (0.22) gives on the
    # same files: duplicates and an empty piece are accepted there and change nothing for this text.
    hf = lambda ids: (lambda out, _: out.split() == ids.split())
    unigram_case("unigram a piece twice (as tokenizers: accepted)", lambda t: t["model"]["vocab"].append(t["model"]["vocab"][5]),
                 expect="ok", check=hf("3 141 728 178 135 39 21 2"))
    unigram_case("unigram an empty piece (as tokenizers: accepted)", lambda t: t["model"]["vocab"].append(["", -1.0]), expect="ok",
                 check=hf("3 141 728 178 135 39 21 2"))
    unigram_case("unigram byte_fallback without byte pieces", lambda t: t["model"].__setitem__("byte_fallback", True), expect="ok",
                 text="\u4e2d", check=hf("3 988 2"))
    unigram_case("unigram score 1e308 on one piece", lambda t: t["model"]["vocab"][5].__setitem__(1, 1e308), expect="ok",
                 check=hf("397 5 728 178 135 39 21 2"))
    unigram_case("unigram text of 20,000 characters", lambda t: None, expect="ok", text="ab" * 10000,
                 check=lambda out, _: len(out.split()) == 10001 and out.split()[:5] == "41 104 4 104 4".split())
    with open(os.path.join(SPM, "unigram-identity.model"), "rb") as f:
        model = f.read()

    def spm_case(name, data, expect="error", names=("model",)):
        d = s.path("spm", re.sub(r"\W+", "-", name), "x")[:-2]
        s.write(os.path.join("spm", re.sub(r"\W+", "-", name), "spiece.model"), data)
        s.write(os.path.join("spm", re.sub(r"\W+", "-", name), "config.json"), '{"model_type": "t5"}')
        s.add(G, name, tok(d), expect, names)

    spm_case("reference spiece.model", model, expect="ok", names=())
    spm_case("spiece.model empty", b"")
    spm_case("spiece.model truncated in half", model[:len(model) // 2])
    spm_case("spiece.model one byte", model[:1])
    spm_case("spiece.model a length of 2^63", b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\x7f" + model)
    spm_case("spiece.model an 11-byte varint", b"\x0a" + b"\xff" * 11 + model)
    spm_case("spiece.model a tokenizer.json instead", json.dumps(unigram).encode())
    spm_case("spiece.model random bytes", bytes((i * 97 + 13) % 256 for i in range(4096)))
    # A piece of an unknown type (7): the field is piece 1's `type` (tag 3, varint).
    typed = model.replace(b"\x18\x01", b"\x18\x07", 1) if b"\x18\x01" in model else None
    if typed:
        spm_case("spiece.model a piece of type 7", typed)
    vocab_dir = lambda name, text: os.path.dirname(s.write("vocab/%s/vocab.txt" % name, text))
    s.add(G, "vocab.txt empty", tok(vocab_dir("empty", "")), "error", ["vocab.txt"])
    s.add(G, "vocab.txt without [UNK]", tok(vocab_dir("nounk", "[CLS]\n[SEP]\nhello\n")), "error", ["[UNK]"])
    s.add(G, "vocab.txt with a NUL line", tok(vocab_dir("nul", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n\0\nhello\n")), "ok",
          check=lambda out, _: out.strip() == "2 5 1 3")
    s.add(G, "vocab.txt of invalid UTF-8", tok(vocab_dir("latin1", b"[UNK]\n[CLS]\n[SEP]\ncaf\xe9\n")), "error", ["vocab.txt"])
    s.add(G, "vocab.txt a line of 1 MB", tok(vocab_dir("long", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n" + "a" * (1 << 20) + "\nhello\n")), "ok",
          check=lambda out, _: out.strip() == "2 5 1 3")
    array_config = os.path.dirname(s.write("tc/arr/tokenizer_config.json", "[]"))
    shutil.copy(os.path.join(CLASSIFIER, "vocab.txt"), os.path.join(array_config, "vocab.txt"))
    s.add(G, "tokenizer_config.json a JSON array", tok(array_config), "error", ["tokenizer_config.json"])
    s.add(G, "tokenizer.json whose added token id is -1", tok(os.path.dirname(s.write("tokj/neg/tokenizer.json", json.dumps(dict(
          unigram, added_tokens=[{"id": -1, "content": "<x>", "single_word": False, "lstrip": False, "rstrip": False,
                                  "normalized": False, "special": True}]))))), "error", ["added_tokens"])
    s.add(G, "tokenize bidi controls, zero-width space, U+FFFD and an emoji (as tokenizers: [CLS] [UNK] [SEP])",
          tok(CLASSIFIER, "\u202e\u200b\ufffd\U0001F600"), "ok", check=lambda out, _: out.split() == ["2", "1", "3"])


def strip_times(text):
    return "\n".join(l for l in text.splitlines() if "milliseconds" not in l and " ms" not in l)


# Running and judging ------------------------------------------------------------------------------

def judge(c, rc, out, err, results):
    if rc is None:
        return "hang", "no answer in %d s" % c.timeout
    if rc < 0 or rc >= 128 or CRASH.search(err):
        return "crash", (err.strip().splitlines() or ["signal %d" % -rc])[-1][:160]
    if c.expect == "capi":
        got = re.findall(r"^(?:status|create) (-?\d+)", out, re.M)
        status = int(got[0]) if got else None
        if status is None:
            return "wrong", "no status printed: " + (out + err).strip()[:120]
        if status not in c.statuses:
            return "wrong", "status %d, expected %s" % (status, c.statuses)
        if c.check and not c.check(out, results):
            return "wrong", "status %d but the result differs from its reference: %s" % (status, out.strip()[:120])
        return ("correct result" if status == 0 else "clear error"), "status %d" % status
    if c.expect == "either" and rc == 0:
        return "correct result", "accepted"
    if c.expect in ("error", "either"):
        if rc == 0:
            return "wrong", "accepted: " + out.strip()[:120]
        lines = [l for l in err.splitlines() if l.strip()]
        errors = [l for l in lines if l.startswith("tcompile: error:")]
        if not errors or len(lines) > 3:
            return "wrong", "unclear refusal: " + " | ".join(lines[:3])[:160]
        missing = [n for n in c.names if n.lower() not in err.lower()]
        if missing:
            return "wrong", "does not name %s: %s" % (missing, errors[0][:160])
        return "clear error", errors[0][len("tcompile: error: "):][:160]
    if rc != 0:
        return "wrong", "refused a valid input: " + err.strip()[:160]
    if c.check and not c.check(out, results):
        return "wrong", "result differs from its reference: " + out.strip()[:120]
    return "correct result", out.strip().splitlines()[-1][:100] if out.strip() else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tcompile", default=None, help="the tcompile binary (default: swift build's debug binary)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--only", default=None, help="run only cases whose group/name contains this")
    args = parser.parse_args()
    tcompile = args.tcompile or os.path.join(ROOT, ".build", "debug", "tcompile")
    if not os.access(tcompile, os.X_OK):
        sys.exit("hostile: no tcompile at %s (build it, or pass --tcompile)" % tcompile)
    work = tempfile.mkdtemp(prefix="tcompile-hostile-")
    suite = Suite(os.path.abspath(tcompile), work)
    try:
        build(suite)
        results = {}
        for c in suite.cases:
            key = c.group + "/" + c.name
            if args.only and args.only not in key:
                continue
            start = time.time()
            try:
                p = subprocess.run(c.argv, input=c.stdin if c.stdin is not None else b"", capture_output=True, timeout=c.timeout,
                                   env=suite.env, cwd=work)
                rc, out, err = p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
            except subprocess.TimeoutExpired:
                rc, out, err = None, "", ""
            c.seconds = time.time() - start
            c.stdout, c.stderr = out, err
            results[key] = c
            c.outcome, c.note = judge(c, rc, out, err, results)
            print("%-15s %-38s %-62s %s" % (c.outcome, c.group[:38], c.name[:62], c.note), flush=True)
        ran = [c for c in suite.cases if c.outcome]
        tally = {}
        for c in ran:
            tally[c.outcome] = tally.get(c.outcome, 0) + 1
        print("\n%d cases: %s" % (len(ran), ", ".join("%d %s" % (v, k) for k, v in sorted(tally.items()))))
        groups = {}
        for c in ran:
            groups.setdefault(c.group, {}).setdefault(c.outcome, 0)
            groups[c.group][c.outcome] += 1
        for g, t in groups.items():
            print("  %-40s %s" % (g, ", ".join("%d %s" % (v, k) for k, v in sorted(t.items()))))
        bad = [c for c in ran if c.outcome in ("crash", "hang", "wrong")]
        return 1 if bad else 0
    finally:
        if args.keep:
            print("work folder: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
