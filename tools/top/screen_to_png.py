#!/usr/bin/python3
"""Draws a terminal capture with colours (`tmux capture-pane -e -p`) as a PNG.

    tools/top/screen_to_png.py CAPTURE.ans OUT.png [--font-size 15]

Understands the SGR escapes tmux writes: reset, bold, dim, underline,
reverse, the 8 + 8 bright colours, 256-colour and 24-bit ones. Needs
Pillow (Debian: python3-pil, so /usr/bin/python3) and DejaVu Sans Mono
(fonts-dejavu-core)."""
import argparse
import re

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
# Tango-like palette: readable on the dark background.
PALETTE = [(0x2e, 0x34, 0x36), (0xcc, 0x00, 0x00), (0x4e, 0x9a, 0x06), (0xc4, 0xa0, 0x00), (0x34, 0x65, 0xa4),
           (0x75, 0x50, 0x7b), (0x06, 0x98, 0x9a), (0xd3, 0xd7, 0xcf), (0x55, 0x57, 0x53), (0xef, 0x29, 0x29),
           (0x8a, 0xe2, 0x34), (0xfc, 0xe9, 0x4f), (0x72, 0x9f, 0xcf), (0xad, 0x7f, 0xa8), (0x34, 0xe2, 0xe2),
           (0xee, 0xee, 0xec)]
FG, BG = (0xd3, 0xd7, 0xcf), (0x1c, 0x1c, 0x1c)
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def color256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        return tuple(0 if v == 0 else 55 + 40 * v for v in (n // 36, n // 6 % 6, n % 6))
    return (8 + 10 * (n - 232),) * 3


class Pen:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.underline = self.reverse = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = PALETTE[c - 30]
            elif 90 <= c <= 97:
                self.fg = PALETTE[c - 90 + 8]
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = PALETTE[c - 40]
            elif 100 <= c <= 107:
                self.bg = PALETTE[c - 100 + 8]
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    value, i = color256(codes[i + 2]), i + 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    value, i = tuple(codes[i + 2:i + 5]), i + 4
                else:
                    value = None
                if c == 38:
                    self.fg = value
                else:
                    self.bg = value
            i += 1

    def colors(self):
        fg = self.fg or FG
        if self.bold and fg in PALETTE[:8]:  # bold brightens the 8 base colours, as terminals do
            fg = PALETTE[PALETTE.index(fg) + 8]
        bg = self.bg or BG
        if self.reverse:
            fg, bg = bg, fg
        if self.dim:
            fg = tuple((a + b) // 2 for a, b in zip(fg, bg))
        return fg, bg


def cells(text):
    """Rows of (character, fg, bg, bold, underline)."""
    pen = Pen()
    rows = []
    for line in text.rstrip("\n").split("\n"):
        row, pos = [], 0
        for m in SGR.finditer(line):
            for ch in line[pos:m.start()]:
                row.append((ch, *pen.colors(), pen.bold, pen.underline))
            pen.apply(m[1])
            pos = m.end()
        for ch in line[pos:]:
            row.append((ch, *pen.colors(), pen.bold, pen.underline))
        rows.append(row)  # capture-pane -e carries attributes over line ends
    return rows


def render(text, font_size=15, margin=12):
    font, bold = ImageFont.truetype(FONT, font_size), ImageFont.truetype(FONT_BOLD, font_size)
    left, top, right, bottom = font.getbbox("M")
    cw = round(font.getlength("M"))
    ch = round(font_size * 1.3)
    rows = cells(text)
    width = max(len(r) for r in rows)
    img = Image.new("RGB", (width * cw + 2 * margin, len(rows) * ch + 2 * margin), BG)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(rows):
        for x, (c, fg, bg, is_bold, underline) in enumerate(row):
            px, py = margin + x * cw, margin + y * ch
            if bg != BG:
                draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
            if c in "▁▂▃▄▅▆▇█":  # block elements fill their cell exactly
                h = round(ch * ("▁▂▃▄▅▆▇█".index(c) + 1) / 8)
                draw.rectangle([px, py + ch - h, px + cw - 1, py + ch - 1], fill=fg)
            elif c != " ":
                draw.text((px, py + (ch - font_size) // 2 - top // 2), c, font=bold if is_bold else font, fill=fg)
            if underline:
                draw.line([px, py + ch - 2, px + cw - 1, py + ch - 2], fill=fg)
    return img


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture")
    ap.add_argument("png")
    ap.add_argument("--font-size", type=int, default=15)
    args = ap.parse_args()
    with open(args.capture, encoding="utf-8") as f:
        render(f.read(), args.font_size).save(args.png, optimize=True)


if __name__ == "__main__":
    main()
