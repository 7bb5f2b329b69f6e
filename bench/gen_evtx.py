#!/usr/bin/env python3
"""Build a large, valid EVTX file for read benchmarks from small sample logs.

The SigmaHQ regression samples hold one or two records per file, so reading them measures mostly
per-file set-up. Real logs pack 30-150 records into each 64 KiB chunk. This script takes each
sample chunk, keeps its records (they carry the inline template definitions) and fills the rest
of the chunk with copies of those records whose inline template definitions are replaced by
references to the originals, so every copy renders exactly like its original. Record ids are
renumbered and timestamps advanced so the output looks like one continuous log.

Usage: bench/gen_evtx.py --out big.evtx [--chunks 1000] [--src DIR]
Stdlib only. The output is deterministic for a given input set.
"""

import argparse
import glob
import os
import struct
import sys
import zlib

FILE_HEADER = 4096
CHUNK = 65536
CHUNK_HEADER = 512
RECORD_MAGIC = 0x2A2A
BINXML_TYPE = 0x21


def strip_inline_defs(c, off, end):
    """Return the fragment at chunk offset [off, end) with inline template definitions removed.

    Recurses into BinXML substitution values. Returns None when the fragment is not the
    template-instance shape this tool understands.
    """
    if c[off : off + 4] != b"\x0f\x01\x01\x00" or c[off + 4] != 0x0C:
        return None
    _tid, def_off = struct.unpack_from("<II", c, off + 6)
    head = bytes(c[off : off + 14])
    p = off + 14
    if def_off == p:
        (size,) = struct.unpack_from("<I", c, p + 20)
        p += 24 + size
    (count,) = struct.unpack_from("<I", c, p)
    descs = [struct.unpack_from("<HBB", c, p + 4 + 4 * i) for i in range(count)]
    p += 4 + 4 * count
    values = []
    new_descs = []
    for size, ty, pad in descs:
        value = bytes(c[p : p + size])
        if ty == BINXML_TYPE and size > 0:
            inner = strip_inline_defs(c, p, p + size)
            if inner is None:
                return None
            value = inner
        values.append(value)
        new_descs.append(struct.pack("<HBB", len(value), ty, pad))
        p += size
    tail = bytes(c[p:end])
    # Keep only the end-of-stream token; the rest is slack.
    tail = tail[:1] if tail[:1] == b"\x00" else tail
    return head + struct.pack("<I", count) + b"".join(new_descs) + b"".join(values) + tail


def read_records(c):
    (free,) = struct.unpack_from("<I", c, 48)
    off = CHUNK_HEADER
    out = []
    while off + 24 <= free:
        magic, size, _rid, filetime = struct.unpack_from("<IIQQ", c, off)
        if magic != RECORD_MAGIC or size < 28 or off + size > free:
            break
        out.append((off, size, filetime))
        off += size
    return out, free


def record_bytes(binxml, record_id, filetime):
    size = 24 + len(binxml) + 4
    pad = (-size) % 8
    binxml += b"\x00" * pad
    size += pad
    return struct.pack("<IIQQ", RECORD_MAGIC, size, record_id, filetime) + binxml + struct.pack("<I", size)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_src = os.path.normpath(os.path.join(here, "..", "..", "shared", "corpus", "sigmahq-regression"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chunks", type=int, default=1000)
    ap.add_argument("--src", default=default_src)
    args = ap.parse_args()

    sources = []
    header = None
    for path in sorted(glob.glob(os.path.join(args.src, "**", "*.evtx"), recursive=True)):
        data = open(path, "rb").read()
        if len(data) < FILE_HEADER + CHUNK or data[:8] != b"ElfFile\x00":
            continue
        header = header or bytearray(data[:FILE_HEADER])
        c = data[FILE_HEADER : FILE_HEADER + CHUNK]
        if c[:8] != b"ElfChnk\x00":
            continue
        records, free = read_records(c)
        copies = []
        for off, size, _ft in records:
            stripped = strip_inline_defs(c, off + 24, off + size - 4)
            if stripped is not None:
                copies.append(stripped)
        if records and copies:
            sources.append((bytearray(c), records, free, copies))
    if not sources or header is None:
        sys.exit(f"no usable .evtx samples under {args.src}")

    record_id = 1
    filetime = 133_000_000_000_000_000  # 2022-06
    total = 0
    with open(args.out, "wb") as out:
        out.write(b"\x00" * FILE_HEADER)
        for n in range(args.chunks):
            c, records, free, copies = sources[n % len(sources)]
            c = bytearray(c)
            first_id = record_id
            last_off = CHUNK_HEADER
            for off, size, _ft in records:
                struct.pack_into("<QQ", c, off + 8, record_id, filetime)
                last_off = off
                record_id += 1
                filetime += 10_000_000
            pos = free
            i = 0
            while True:
                rec = record_bytes(copies[i % len(copies)], record_id, filetime)
                if pos + len(rec) > CHUNK:
                    break
                c[pos : pos + len(rec)] = rec
                last_off = pos
                pos += len(rec)
                record_id += 1
                filetime += 10_000_000
                i += 1
            c[pos:] = b"\x00" * (CHUNK - pos)
            last_id = record_id - 1
            struct.pack_into("<QQQQ", c, 8, first_id, last_id, first_id, last_id)
            struct.pack_into("<II", c, 44, last_off, pos)
            struct.pack_into("<I", c, 52, zlib.crc32(bytes(c[CHUNK_HEADER:pos])))
            struct.pack_into("<I", c, 124, zlib.crc32(bytes(c[:120]) + bytes(c[128:CHUNK_HEADER])))
            out.write(c)
            total += last_id - first_id + 1
        struct.pack_into("<QQQ", header, 8, 0, args.chunks - 1, record_id)
        struct.pack_into("<H", header, 42, min(args.chunks, 0xFFFF))
        struct.pack_into("<I", header, 120, 0)
        struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
        out.seek(0)
        out.write(header)
    print(f"wrote {args.out}: {args.chunks} chunks, {total} records", file=sys.stderr)


if __name__ == "__main__":
    main()
