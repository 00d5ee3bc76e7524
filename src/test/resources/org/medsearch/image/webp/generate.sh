#!/bin/sh
# Regenerates the WebP test files in this folder (needs Debian's webp package for cwebp; TwelveMonkeys
# reads WebP but cannot write it). The source is a made-up 32x32 RGB gradient, R = 8x, G = 8y, B = 128,
# which RasterImageReaderTest recomputes to check the lossless files exactly and the lossy one roughly.
# Run from this folder: sh generate.sh
set -eu
python3 - <<'PY'
with open("gradient.ppm", "wb") as f:
    f.write(b"P6\n32 32\n255\n")
    f.write(bytes(v for y in range(32) for x in range(32) for v in (8 * x, 8 * y, 128)))
# the same colours with alpha falling from 255 to 0 left to right, as a PAM
with open("gradient.pam", "wb") as f:
    f.write(b"P7\nWIDTH 32\nHEIGHT 32\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n")
    f.write(bytes(v for y in range(32) for x in range(32) for v in (8 * x, 8 * y, 128, 255 - 8 * x)))
PY
cwebp -quiet -lossless -exact gradient.ppm -o gradient-lossless.webp       # simple format, VP8L
cwebp -quiet -q 90 gradient.ppm -o gradient-lossy.webp                     # simple format, VP8
cwebp -quiet -q 90 -alpha_q 100 gradient.pam -o gradient-alpha.webp     # extended format: VP8X, ALPH, VP8
rm -f gradient.ppm gradient.pam
