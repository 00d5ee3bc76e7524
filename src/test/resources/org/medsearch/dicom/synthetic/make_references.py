# Prints "file sha256 probes" for each compressed file: stored values as little-endian int32
# (pixel_array, colour pixel-interleaved), decoded by dcmtk (dcmdjpls, dcmdrle, dcmdjpeg with its
# default YCbCr-to-RGB conversion) or, for JPEG 2000, by gdcmconv --raw. For lossy colour JPEG
# it also prints "luma FILE v..." with every pixel's PIL luma of the dcmtk RGB, for a tolerance test.
import glob, hashlib, os, subprocess, tempfile
import pydicom
for f in sorted(glob.glob("*.dcm")):
    ts = pydicom.dcmread(f, stop_before_pixels=True).file_meta.TransferSyntaxUID
    tool = {"1.2.840.10008.1.2.4.80": ["dcmdjpls"], "1.2.840.10008.1.2.4.81": ["dcmdjpls"],
            "1.2.840.10008.1.2.5": ["dcmdrle"], "1.2.840.10008.1.2.4.90": ["gdcmconv", "--raw"]}.get(ts, ["dcmdjpeg"])
    out = os.path.join(tempfile.mkdtemp(), "raw.dcm")
    subprocess.run(tool + [f, out], check=True)
    a = pydicom.dcmread(out).pixel_array
    flat = a.reshape(-1)
    n = flat.size
    probes = " ".join(str(int(v)) for v in flat[[0, n // 3, n // 2, n - 1]])
    print(f, hashlib.sha256(a.astype("<i4").tobytes()).hexdigest(), probes)
    if ts == "1.2.840.10008.1.2.4.50" and a.ndim == 3 and a.shape[-1] == 3:
        r, g, b = (a[..., i].astype("int64") for i in range(3))
        luma = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
        print("luma", f, " ".join(str(int(v)) for v in luma.reshape(-1)))
