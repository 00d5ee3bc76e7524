#!/usr/bin/env python3
"""Writes the .pth fixtures of PthReader's tests, with Debian's torch 1.13:
    /usr/bin/python3 make_pth_fixtures.py [OUTDIR]

views.pth, views_p4.pth  one state dict, pickle protocols 2 and 4: strided and offset views of one
                         shared storage, a stride-0 view, an empty tensor, F32 and I64 scalars,
                         nn.Parameters and module-version _metadata. views.safetensors holds the same tensors, made contiguous:
                         what the reader must return.
float64.pth              a state dict with a float64 tensor (unsupported dtype).
legacy.pth               the pre-1.6 format (_use_new_zipfile_serialization=False).
popen.pth, posix_system.pth, eval.pth
                         real torch.save archives whose pickle holds an object whose __reduce__
                         calls subprocess.Popen, os.system (pickled as posix.system) or
                         builtins.eval. torch.load of any of them creates PWNED (checked with
                         torch 1.13); a safe reader must refuse them and create nothing.
huge_entry.pth           a small archive whose central directory claims data.pkl is 3 GiB.
"""
import collections, io, json, os, struct, subprocess, sys, zipfile
import torch

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
PWNED = "/tmp/medsearch-pth-fixture-pwned"


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        b = t.numpy().tobytes()  # x86: little endian
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


base = torch.arange(24, dtype=torch.float32).reshape(4, 6) * 0.5 - 3.25
sd = collections.OrderedDict()
sd["base"] = base
sd["transposed"] = base.t()            # stride (1, 6)
sd["slice"] = base[1:3, 1::2]          # offset 7, stride (6, 2)
sd["row"] = base[3]                    # offset 18, contiguous
sd["expanded"] = torch.tensor([1.5, -2.5]).expand(3, 2)  # stride (0, 1)
sd["scalar"] = torch.tensor(0.125)
sd["bn.num_batches_tracked"] = torch.tensor(1000)
sd["longs"] = torch.tensor([-1, 2**40, -2**62, 7])[::2]  # I64, stride (2,)
g = torch.Generator().manual_seed(5)
sd["fc.weight"] = torch.nn.Parameter(torch.randn(3, 2, generator=g))
sd["fc.bias"] = torch.nn.Parameter(torch.randn(3, generator=g), requires_grad=False)
sd["empty"] = torch.zeros(0, 3)  # last: SafeTensors.read refuses an empty tensor at another's offset
# as Module.state_dict() sets it; pickled as the OrderedDict's state, through BUILD
sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bn", {"version": 2})])
assert not sd["transposed"].is_contiguous() and not sd["slice"].is_contiguous()

torch.save(sd, os.path.join(out, "views.pth"))
torch.save(sd, os.path.join(out, "views_p4.pth"), pickle_protocol=4)
write_safetensors(os.path.join(out, "views.safetensors"), sd)
with zipfile.ZipFile(os.path.join(out, "views.pth")) as z:
    storages = [n for n in z.namelist() if "/data/" in n]
    assert len(storages) < len(sd), "the base views must share one storage"

torch.save({"x": torch.tensor([1.0, 2.0], dtype=torch.float64)}, os.path.join(out, "float64.pth"))
torch.save({"x": torch.tensor([1.0, 2.0])}, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)


class Popen:
    def __reduce__(self):
        return subprocess.Popen, (["touch", PWNED],)


class System:
    def __reduce__(self):
        return os.system, ("touch " + PWNED,)


class Eval:
    def __reduce__(self):
        return eval, ("__import__('os').system('touch " + PWNED + "')",)


# Protocol 2 writes Python 2 names (commands.Popen, __builtin__.eval) that Python 3 maps back;
# protocol 4 writes the modern ones, through STACK_GLOBAL.
for name, payload, protocol in (("popen", Popen(), 4), ("posix_system", System(), 2), ("eval", Eval(), 4)):
    evil = collections.OrderedDict(weight=torch.ones(2), bias=payload)
    torch.save(evil, os.path.join(out, name + ".pth"), pickle_protocol=protocol)

# Central directory: signature, 12 bytes, crc, compressed size, uncompressed size, ...
buf = io.BytesIO()
torch.save({"x": torch.ones(2)}, buf)
b = bytearray(buf.getvalue())
cen = b.find(b"PK\x01\x02")
assert b[cen + 46:cen + 46 + len("archive/data.pkl")] == b"archive/data.pkl"
struct.pack_into("<II", b, cen + 20, 3 << 30, 3 << 30)
with open(os.path.join(out, "huge_entry.pth"), "wb") as f:
    f.write(b)
print("torch", torch.__version__, "fixtures in", out)
