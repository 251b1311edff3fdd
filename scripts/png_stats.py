#!/usr/bin/env python3
"""Prints simple statistics of a PNG image as JSON, using only the standard library.

usage: scripts/png_stats.py IMAGE.png

Output: {"width": W, "height": H, "distinct_colors": N, "non_white_fraction": F}, where a colour is
an (R, G, B) triple (alpha is ignored; grey is expanded to R = G = B) and a pixel is non-white when
any channel is below 250. Handles 8-bit, non-interlaced greyscale, grey+alpha, RGB and RGBA images
with the five PNG filter types (None, Sub, Up, Average, Paeth). The HTML report test uses it to check
that a headless browser's screenshot is not blank.
"""

import json
import struct
import sys
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour type -> channels per pixel.
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def fail(message):
    print("png_stats: " + message, file=sys.stderr)
    sys.exit(1)


def read_chunks(data):
    """Returns (IHDR body, concatenated IDAT bodies)."""
    if not data.startswith(SIGNATURE):
        fail("not a PNG file")
    header = None
    idat = []
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None or not idat:
        fail("missing IHDR or IDAT")
    return header, b"".join(idat)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def unfilter(kind, row, prev, bpp):
    """Reconstructs one scanline (bytes) from its filtered bytes and the previous reconstructed line."""
    if kind == 0:
        return bytes(row)
    if kind == 2:
        if not any(row):
            return prev
        return bytes((x + b) & 255 for x, b in zip(row, prev))
    out = bytearray(row)
    n = len(out)
    if kind == 1:
        for i in range(bpp, n):
            out[i] = (out[i] + out[i - bpp]) & 255
    elif kind == 3:
        for i in range(n):
            a = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((a + prev[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(n):
            a = out[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + paeth(a, prev[i], c)) & 255
    else:
        fail("unknown filter type %d" % kind)
    return bytes(out)


def stats(path):
    with open(path, "rb") as f:
        header, idat = read_chunks(f.read())
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in CHANNELS or interlace != 0:
        fail("unsupported PNG: bit depth %d, colour type %d, interlace %d" % (depth, colour, interlace))
    bpp = CHANNELS[colour]
    stride = width * bpp
    raw = zlib.decompress(idat)
    if len(raw) != height * (stride + 1):
        fail("image data has %d bytes, expected %d" % (len(raw), height * (stride + 1)))
    prev = bytes(stride)
    colours = set()
    non_white = 0
    for y in range(height):
        start = y * (stride + 1)
        line = unfilter(raw[start], raw[start + 1 : start + 1 + stride], prev, bpp)
        prev = line
        if colour == 2:
            pixels = [line[i : i + 3] for i in range(0, stride, 3)]
        elif colour == 6:
            pixels = [line[i : i + 3] for i in range(0, stride, 4)]
        else:
            pixels = [bytes((line[i],) * 3) for i in range(0, stride, bpp)]
        colours.update(pixels)
        non_white += sum(1 for p in pixels if min(p) < 250)
    total = width * height
    return {
        "width": width,
        "height": height,
        "distinct_colors": len(colours),
        "non_white_fraction": non_white / total if total else 0.0,
    }


def main():
    if len(sys.argv) != 2:
        fail("usage: png_stats.py IMAGE.png")
    print(json.dumps(stats(sys.argv[1])))


if __name__ == "__main__":
    main()
