package org.medsearch.dicom;

import java.util.Map;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReader;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.MemoryBudget;
import org.medsearch.image.ReadLimits;

/**
 * DICOM files as {@link MedicalImage}s: one frame, modality LUT (rescale) then a linear VOI window,
 * MONOCHROME1 inverted after windowing, colour and palette images as luma. See {@link DicomFile}
 * for the supported encodings and {@link VoiWindow} for how the window is chosen; colour images are
 * not windowed (luma divided by its maximum).
 *
 * <p>Contract: {@link #read} throws only {@link ImageFormatException}, for any input. The metadata
 * holds technical values only ({@link DicomFile#technicalMetadata()}, plus {@code frame} and
 * {@code window}); identifying values never appear in it or in messages. Immutable and thread-safe.
 *
 * <pre>{@code
 * ImageReaders readers = ImageReaders.standard();                 // includes new DicomImageReader()
 * MedicalImage ct = readers.read(Path.of("slice.dcm"));
 * MedicalImage lung = new DicomImageReader().withWindow(WindowPreset.LUNG).read(bytes, ReadLimits.DEFAULT);
 * lung.metadata().get("window");                                   // "preset lung C-600 W1500"
 * }</pre>
 */
public final class DicomImageReader implements ImageReader {

    private final WindowPreset preset;
    private final int frame;

    /** The file's window (or a percentile window), first frame. */
    public DicomImageReader() {
        this(null, 0);
    }

    /**
     * @param preset a window that overrides the file's, or null
     * @param frame the frame to read, from 0
     */
    public DicomImageReader(WindowPreset preset, int frame) {
        if (frame < 0) {
            throw new IllegalArgumentException("frame index must be at least 0");
        }
        this.preset = preset;
        this.frame = frame;
    }

    /** {@code readers} with their DICOM reader windowing with {@code preset} (null: the file's window). */
    public static ImageReaders withWindow(ImageReaders readers, WindowPreset preset) {
        return readers.map(r -> r instanceof DicomImageReader d ? d.withWindow(preset) : r);
    }

    public DicomImageReader withWindow(WindowPreset p) {
        return new DicomImageReader(p, frame);
    }

    public DicomImageReader withFrame(int index) {
        return new DicomImageReader(preset, index);
    }

    @Override
    public String name() {
        return "dicom";
    }

    @Override
    public boolean canRead(byte[] head) {
        return DicomFile.looksLikeDicom(head);
    }

    @Override
    @SuppressWarnings("try") // the lease is held for the decode's duration and never read
    public MedicalImage read(byte[] bytes, ReadLimits limits) throws ImageFormatException {
        DicomFile f = DicomFile.parse(bytes, limits);
        PixelModule pm = f.pixelModule();
        if (pm == null) {
            return DicomFile.guarded(() -> render(f));
        }
        try (MemoryBudget.Lease lease = limits.admitDecode(
                pm.columns(),
                pm.rows(),
                pm.samples(),
                pm.bitsAllocated(),
                pm.frames(),
                PixelModule.workingBytes(pm.rows(), pm.columns(), pm.samples()))) {
            return DicomFile.guarded(() -> render(f));
        }
    }

    private MedicalImage render(DicomFile f) throws ImageFormatException {
        if (!f.hasPixelData()) {
            throw new ImageFormatException("DICOM file without pixel data");
        }
        PixelModule pm = f.pixelModule();
        VoiWindow window = !pm.monochrome() ? null : preset != null ? VoiWindow.of(preset) : f.fileWindow();
        float[] values;
        if (pm.monochrome() && window == null) {
            // padding must not pull the percentiles
            values = f.frameWithoutPadding(frame);
            window = VoiWindow.percentile(values);
        } else {
            values = f.frame(frame);
            if (window == null) {
                int max = f.colourMax(); // after frame(), whose errors come first
                window = new VoiWindow(max / 2.0, max, "none (colour, luma / " + max + ")");
            }
        }
        float[] px = window.apply(values, pm.photometric().equals("MONOCHROME1"));
        Map<String, String> meta = f.technicalMetadata();
        meta.put("frame", Integer.toString(frame));
        meta.put("window", window.description());
        return new MedicalImage(pm.columns(), pm.rows(), px, meta);
    }
}
