#!/bin/sh
# Regenerates the synthetic test files and references in this folder (needs Debian's dcmtk,
# libgdcm-tools and python3-pydicom). The images are made up (gradients, noise, flat areas,
# edges); nothing here comes from a real patient. Run from this folder: sh generate.sh
set -eu
python3 make_images.py                       # writes base-*.dcm (uncompressed)
# JPEG-LS: interleave modes, near-lossless, low bit depths, multi-frame with fragments
dcmcjpls +in base-rgb8.dcm jls-rgb8-ilv0.dcm
dcmcjpls +il base-rgb8.dcm jls-rgb8-ilv1.dcm
dcmcjpls +is base-rgb8.dcm jls-rgb8-ilv2.dcm
dcmcjpls +is +en +md 3 base-rgb8.dcm jls-rgb8-ilv2-near3.dcm
dcmcjpls +en +md 2 base-gray6.dcm jls-gray6-near2.dcm
dcmcjpls base-s16.dcm jls-s16.dcm
dcmcjpls +fs 1 base-frames.dcm jls-frames-bot.dcm             # 1 KiB fragments, offset table
dcmcjpls +fs 1 -ot base-frames.dcm jls-frames-nobot.dcm       # 1 KiB fragments, empty offset table
# RLE and JPEG
dcmcrle base-rgb8.dcm rle-rgb8.dcm
dcmcrle base-frames.dcm rle-frames.dcm
dcmcjpeg +e1 base-rgb8.dcm jpeg-lossless-rgb8.dcm
dcmcjpeg +eb base-rgb8.dcm jpeg-baseline-rgb8.dcm             # YBR_FULL_422
dcmcjpeg +ee base-s16.dcm jpeg-extended-12bit.dcm 2>/dev/null || true
# JPEG 2000 (lossless, OpenJPEG through gdcm)
gdcmconv --j2k base-s16.dcm j2k-s16.dcm
gdcmconv --j2k base-rgb8.dcm j2k-rgb8.dcm
python3 make_references.py > references.txt
rm -f base-rgb8.dcm base-s16.dcm base-frames.dcm base-gray6.dcm
