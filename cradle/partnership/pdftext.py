"""The text of a PDF that WeasyPrint wrote, read back without a PDF library (none is a
dependency, and poppler is not installed): inflate the streams, read each font's ToUnicode
map, and decode the strings drawn with ``Tj``/``TJ``. Enough for the tests and the
benchmark to check what an export says; not a general PDF reader."""

from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_HEX = re.compile(rb"<([0-9A-Fa-f\s]*)>")


def _streams(pdf: bytes) -> dict[int, tuple[bytes, bytes]]:
    out = {}
    for match in _OBJ.finditer(pdf):
        number, body = int(match.group(1)), match.group(2)
        s = _STREAM.search(body)
        data = b""
        if s:
            data = s.group(1)
            if b"FlateDecode" in body[: s.start()]:
                try:
                    data = zlib.decompress(data)
                except zlib.error:
                    data = zlib.decompressobj().decompress(data)
        out[number] = (body[: s.start()] if s else body, data)
    # Small objects (font dictionaries among them) may sit compressed in object streams.
    for head, data in list(out.values()):
        if b"/ObjStm" not in head:
            continue
        n = int(re.search(rb"/N (\d+)", head).group(1))
        first = int(re.search(rb"/First (\d+)", head).group(1))
        table = data[:first].split()
        offsets = [(int(table[2 * i]), int(table[2 * i + 1])) for i in range(n)]
        for i, (obj, offset) in enumerate(offsets):
            end = offsets[i + 1][1] if i + 1 < n else len(data) - first
            out.setdefault(obj, (data[first + offset : first + end], b""))
    return out


def _cmap(data: bytes) -> dict[bytes, str]:
    out: dict[bytes, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        pairs = _HEX.findall(block)
        for src, dst in zip(pairs[::2], pairs[1::2], strict=False):
            out[bytes.fromhex(src.decode())] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(rb"<(\w+)>\s*<(\w+)>\s*<(\w+)>", block):
            a, b, d = int(lo, 16), int(hi, 16), int(dst, 16)
            width = len(lo) // 2
            for i in range(b - a + 1):
                out[(a + i).to_bytes(width, "big")] = chr(d + i)
    return out


def text(pdf: bytes) -> str:
    """Every string drawn, in drawing order; text objects on new lines."""
    objects = _streams(pdf)
    fonts: dict[bytes, dict[bytes, str]] = {}
    # Font resources: /F1 12 0 R inside /Font << ... >>; each font object names its /ToUnicode.
    unicode_of: dict[int, dict[bytes, str]] = {}
    for number, (head, _) in objects.items():
        m = re.search(rb"/ToUnicode\s+(\d+) 0 R", head)
        if m and int(m.group(1)) in objects:
            unicode_of[number] = _cmap(objects[int(m.group(1))][1])
    for _, (head, _) in objects.items():
        # A font resource dictionary maps a name to a font object: /F1 16 0 R.
        for name, ref in re.findall(rb"/([^\s/<>\[\]()]+)\s+(\d+) 0 R", head):
            if int(ref) in unicode_of:
                fonts[name] = unicode_of[int(ref)]
    lines: list[str] = []
    token = re.compile(
        rb"/(\S+)\s+[\d.]+\s+Tf|\[([^\[\]]*)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj|(BT)|(ET)|(?:[-\d.]+\s+){5}([-\d.]+)\s+Tm\b",
        re.S,
    )
    for _, data in objects.values():
        if not data or b"BT" not in data:
            continue
        cmap: dict[bytes, str] = {}
        current: list[str] = []
        y, run = None, 0
        for t in token.finditer(data):
            font, array, single, begin, end, moved = t.groups()
            if font is not None:
                cmap = fonts.get(font, {})
            elif moved is not None and moved == y:
                # Along the same line: glyphs placed one by one (an SVG's text) run on; a new
                # run of text (the next cell of a table row) is set apart.
                if run > 1:
                    current.append(" ")
                run = 0
                continue
            elif begin or end or moved is not None:
                y, run = moved, 0
                if current:
                    lines.append("".join(current))
                    current = []
            else:
                chunks = _HEX.findall(array) if array is not None else [single]
                if array is not None:
                    # A large negative kerning between chunks is a space.
                    parts = re.split(rb"(<[0-9A-Fa-f]*>)", array)
                    chunks = []
                    for p in parts:
                        if p.startswith(b"<"):
                            chunks.append(p[1:-1])
                        elif p.strip():
                            try:
                                if float(p.strip()) < -200:
                                    chunks.append(None)
                            except ValueError:
                                pass
                for chunk in chunks:
                    if chunk is None:
                        current.append(" ")
                        continue
                    raw = bytes.fromhex(chunk.decode())
                    width = 2 if cmap and len(next(iter(cmap))) == 2 else 1
                    for i in range(0, len(raw), width):
                        current.append(cmap.get(raw[i : i + width], ""))
                        run += 1
        if current:
            lines.append("".join(current))
    return "\n".join(lines)
