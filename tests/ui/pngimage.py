"""PNG files with Python's standard library only (zlib + struct): enough for the
screenshots of the touch UI tests (8-bit RGB or RGBA, not interlaced).

    read(path) -> (width, height, channels, pixels: bytes, rows packed)
    write(path, width, height, pixels)  RGB, filter type 0, zlib level 9
    compare(a, b) -> (mean absolute difference per channel sample,
                      share of samples differing by more than BIG)
"""
import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
BIG = 64


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + length:
                                                                pos + 12 + length])[0]:
            raise ValueError(f"{path}: bad CRC in {kind!r}")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if not ihdr:
        raise ValueError(f"{path}: no IHDR")
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA, not interlaced")
    ch = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * ch
    if len(raw) != h * (stride + 1):
        raise ValueError(f"{path}: image data of the wrong size")
    out = bytearray(h * stride)
    prev = bytearray(stride)
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ftype == 1:
            for i in range(ch, stride):
                row[i] = (row[i] + row[i - ch]) & 0xFF
        elif ftype == 2:
            for i in range(stride):
                row[i] = (row[i] + prev[i]) & 0xFF
        elif ftype == 3:
            for i in range(stride):
                left = row[i - ch] if i >= ch else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                left = row[i - ch] if i >= ch else 0
                ul = prev[i - ch] if i >= ch else 0
                row[i] = (row[i] + _paeth(left, prev[i], ul)) & 0xFF
        elif ftype != 0:
            raise ValueError(f"{path}: filter type {ftype}")
        out[y * stride:(y + 1) * stride] = row
        prev = row
    return w, h, ch, bytes(out)


def write(path, w, h, pixels):
    stride = w * 3
    raw = b"".join(b"\x00" + pixels[y * stride:(y + 1) * stride] for y in range(h))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body)))
    with open(path, "wb") as f:
        f.write(SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def rgb(ch, pixels):
    if ch == 3:
        return pixels
    return b"".join(pixels[i:i + 3] for i in range(0, len(pixels), 4))


def compare(a, b):
    """a, b: equal-length sample bytes. Mean |a-b| per sample; share of samples with |a-b| > BIG."""
    if a == b:
        return 0.0, 0.0
    total, big = 0, 0
    for x, y in zip(a, b):
        d = x - y if x > y else y - x
        total += d
        if d > BIG:
            big += 1
    return total / len(a), big / len(a)
