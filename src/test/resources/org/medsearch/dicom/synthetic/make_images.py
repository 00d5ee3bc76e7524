# Synthetic uncompressed images for generate.sh. Deterministic (fixed seed).
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid, SecondaryCaptureImageStorage

rng = np.random.default_rng(20261125)

def image(h, w, maxval):
    y, x = np.mgrid[0:h, 0:w]
    a = (x * maxval / (2 * w) + y * maxval / (3 * h)).astype(np.int64)
    a[h // 4:h // 2, w // 4:w // 2] = maxval // 3           # a flat area: JPEG-LS run mode
    a[:, w * 3 // 4:] = a[:, w * 3 // 4:] + rng.integers(0, max(2, maxval // 16), (h, w - w * 3 // 4))
    a[h * 3 // 4:, :w // 3] = maxval                         # a sharp edge
    return np.clip(a, 0, maxval)

def save(name, px, bits_stored, signed=False, photometric="MONOCHROME2", frames=1):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.3"
    ds.PatientName = "Synthetic^Test"
    ds.PatientID = "SYN-0001"
    ds.Modality = "OT"
    ds.SamplesPerPixel = 3 if photometric == "RGB" else 1
    ds.PhotometricInterpretation = photometric
    if photometric == "RGB":
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = px.shape[-3:-1] if photometric == "RGB" else px.shape[-2:]
    ds.BitsAllocated = 8 if bits_stored <= 8 else 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    dtype = {(8, False): np.uint8, (16, False): np.uint16, (16, True): np.int16}[(ds.BitsAllocated, signed)]
    ds.PixelData = px.astype(dtype).tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(name, write_like_original=False)

rgb = np.stack([image(48, 64, 255), image(48, 64, 255)[::-1], image(48, 64, 255)[:, ::-1]], axis=-1)
save("base-rgb8.dcm", rgb, 8, photometric="RGB")
save("base-gray6.dcm", image(40, 56, 63), 6)
save("base-s16.dcm", image(48, 64, 4000) - 2000, 16, signed=True)
save("base-frames.dcm", np.stack([image(48, 64, 4095), image(48, 64, 4095)[::-1], image(48, 64, 4095)[:, ::-1]]), 12, frames=3)
