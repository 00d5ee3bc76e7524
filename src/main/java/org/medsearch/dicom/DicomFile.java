package org.medsearch.dicom;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ReadLimits;

/**
 * A parsed DICOM file (PS3.10, with the 128-byte preamble and "DICM") or bare dataset (no preamble,
 * starting with a group 0002 or 0008 element in any of the uncompressed encodings): the low-level
 * API under {@link DicomImageReader}, for tools and for volume assembly.
 *
 * <p>Contract: every public method either succeeds or throws {@link ImageFormatException}; no other
 * exception escapes, whatever the input. Allocations are bounded by the input's size and by the
 * {@link ReadLimits} given to {@link #parse}: a hostile length or image size is refused before
 * anything is allocated for it. Exception messages, {@link #toString()} and
 * {@link #technicalMetadata()} never contain identifying values; those are reachable only through
 * {@link #identifiers()}, {@link #dataset()} and {@link #inspect(boolean) inspect(true)}.
 *
 * <p>A file whose transfer syntax is not supported still parses when its dataset is readable (for
 * inspection); {@link #frame} then throws {@code "unsupported transfer syntax <uid> (<name>)"}.
 * Instances are immutable apart from caches and may be shared between threads.
 *
 * <pre>{@code
 * DicomFile ct = DicomFile.parse(Files.readAllBytes(path), ReadLimits.DEFAULT);
 * float[] hu = ct.frame(0);                        // Hounsfield units, row-major
 * double[] spacing = ct.geometry().pixelSpacing();
 * String series = ct.identifiers().seriesInstanceUid();
 * }</pre>
 */
public final class DicomFile {

    private final Dataset meta;
    private final Dataset dataset;
    private final String syntaxUid;
    private final TransferSyntax syntax;
    private final PixelModule pixels;
    private final Frames frames;

    private DicomFile(
            Dataset meta, Dataset dataset, String syntaxUid, TransferSyntax syntax, PixelModule pixels, Frames frames) {
        this.meta = meta;
        this.dataset = dataset;
        this.syntaxUid = syntaxUid;
        this.syntax = syntax;
        this.pixels = pixels;
        this.frames = frames;
    }

    /** How the message of an exception that wraps a bug of ours (not a problem of the file) starts. */
    static final String INTERNAL_ERROR = "cannot decode this DICOM file (internal error";

    /** Work that may run into a bug of ours: it still surfaces as an {@link ImageFormatException}. */
    interface Work<T> {
        T run() throws ImageFormatException;
    }

    static <T> T guarded(Work<T> w) throws ImageFormatException {
        try {
            return w.run();
        } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
            throw new ImageFormatException(INTERNAL_ERROR + ": " + e.getClass().getSimpleName() + ")", e);
        }
    }

    /** Parses a whole file. */
    public static DicomFile parse(byte[] bytes, ReadLimits limits) throws ImageFormatException {
        return guarded(() -> doParse(bytes, limits));
    }

    /** Whether the leading bytes look like DICOM: "DICM" at 128, or a plausible first element of a bare dataset. */
    public static boolean looksLikeDicom(byte[] head) {
        return isPart10(head) || sniff(head, 0, true) != null;
    }

    private static boolean isPart10(byte[] b) {
        return b.length >= 132 && b[128] == 'D' && b[129] == 'I' && b[130] == 'C' && b[131] == 'M';
    }

    /**
     * The encoding of a dataset starting at {@code off}, judged from its first element: explicit VR
     * (a VR where one belongs) little or big endian, or implicit VR little endian; null when the bytes
     * do not start with a group 0002 or 0008 element.
     */
    private static TransferSyntax sniff(byte[] b, int off, boolean strict) {
        if (b.length - off < 8) {
            return null;
        }
        int groupLe = Dataset.u16(b, off, false);
        int groupBe = Dataset.u16(b, off, true);
        boolean vr = DicomParser.isVr(b, off + 4);
        if ((groupLe == 0x0002 || groupLe == 0x0008) && vr) {
            return TransferSyntax.EXPLICIT_VR_LITTLE_ENDIAN;
        }
        if (groupBe == 0x0008 && vr) {
            return TransferSyntax.EXPLICIT_VR_BIG_ENDIAN;
        }
        if (groupLe == 0x0008) {
            long len = Dataset.u32(b, off + 4, false);
            int element = Dataset.u16(b, off + 2, false);
            // a header-sized first element: a group length, the character set, the image type, the SOP class...
            if (!strict || (element <= 0x0020 && len <= 256)) {
                return TransferSyntax.IMPLICIT_VR_LITTLE_ENDIAN;
            }
        }
        return null;
    }

    private static DicomFile doParse(byte[] bytes, ReadLimits limits) throws ImageFormatException {
        limits.checkFileSize(bytes.length);
        boolean part10 = isPart10(bytes);
        if (!part10 && sniff(bytes, 0, false) == null) {
            throw new ImageFormatException("not a DICOM file (no DICM marker and no recognisable dataset)");
        }
        DicomParser metaParser = new DicomParser(bytes, part10 ? 132 : 0);
        Dataset meta = metaParser.readMeta();
        int start = metaParser.position();
        String uid = meta.string(Tags.TRANSFER_SYNTAX_UID);
        TransferSyntax ts;
        if (uid == null) {
            ts = sniff(bytes, start, false);
            if (ts == null) {
                throw new ImageFormatException(
                        start == bytes.length
                                ? "no dataset after the file meta information"
                                : "no transfer syntax and an unrecognisable dataset encoding");
            }
            uid = ts.uid();
        } else {
            ts = TransferSyntax.lookup(uid);
        }
        Dataset ds;
        try {
            if (ts != null && ts.deflated()) {
                ds = new DicomParser(inflate(bytes, start, limits), 0).readTopLevel(true, false);
            } else {
                boolean bigEndian = ts != null && ts.bigEndian();
                boolean explicit = ts == null || ts.explicitVr();
                if (!bigEndian && bytes.length - start >= 8) {
                    explicit = DicomParser.isVr(
                            bytes, start + 4); // files that say one VR encoding and use the other exist
                }
                ds = new DicomParser(bytes, start).readTopLevel(explicit, bigEndian);
            }
        } catch (ImageFormatException e) {
            if (ts == null) {
                ImageFormatException u = TransferSyntax.unsupported(uid);
                u.initCause(e);
                throw u;
            }
            throw e;
        }
        PixelModule pm = null;
        Frames fr = null;
        if (ds.contains(Tags.PIXEL_DATA)) {
            pm = PixelModule.of(ds, limits);
            fr = ts == null ? null : new Frames(ds, pm, ts);
        }
        return new DicomFile(meta, ds, uid.trim(), ts, pm, fr);
    }

    /** Inflates a deflated dataset (raw deflate; zlib-wrapped as written by some old toolkits), bounded by the file limit. */
    private static byte[] inflate(byte[] b, int start, ReadLimits limits) throws ImageFormatException {
        // the inflated dataset holds the pixels: bound it like a decode as well as like a file
        long max = Math.min(limits.maxInMemoryBytes(), limits.maxDecodedBytes());
        try {
            return inflate(b, start, max, true);
        } catch (DataFormatException e) {
            try {
                return inflate(b, start, max, false);
            } catch (DataFormatException e2) {
                throw new ImageFormatException("corrupt deflated dataset", e);
            }
        }
    }

    private static byte[] inflate(byte[] b, int start, long max, boolean raw)
            throws DataFormatException, ImageFormatException {
        Inflater inf = new Inflater(raw);
        try {
            inf.setInput(b, start, b.length - start);
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(b.length * 4L, 1 << 20));
            byte[] chunk = new byte[1 << 16];
            boolean padded = false;
            int idle = 0;
            while (!inf.finished()) {
                int n = inf.inflate(chunk);
                if (n > 0) {
                    idle = 0;
                    if (out.size() + (long) n > max) {
                        throw new ImageFormatException(
                                "deflated dataset inflates beyond the limit of " + max + " bytes");
                    }
                    out.write(chunk, 0, n);
                } else if (inf.needsInput() && !padded) {
                    inf.setInput(new byte[1]); // raw inflate may want one byte past the stream (Inflater's docs)
                    padded = true;
                } else if (inf.needsInput() || inf.needsDictionary() || ++idle > 2) {
                    throw new ImageFormatException("deflated dataset is truncated");
                }
            }
            return out.toByteArray();
        } finally {
            inf.end();
        }
    }

    /** The file meta information (group 0002); empty for a bare dataset. */
    public Dataset fileMeta() {
        return meta;
    }

    /** The main dataset, every value included: handle with care, it may hold patient data. */
    public Dataset dataset() {
        return dataset;
    }

    /** The transfer syntax, or empty when it is not one medsearch decodes. */
    public Optional<TransferSyntax> transferSyntax() {
        return Optional.ofNullable(syntax);
    }

    public boolean hasPixelData() {
        return pixels != null;
    }

    /** Rows of each frame, 0 without pixel data. */
    public int rows() {
        return pixels == null ? 0 : pixels.rows();
    }

    /** Columns of each frame, 0 without pixel data. */
    public int columns() {
        return pixels == null ? 0 : pixels.columns();
    }

    /** NumberOfFrames (1 when absent), 0 without pixel data. */
    public int frameCount() {
        return pixels == null ? 0 : pixels.frames();
    }

    /** The photometric interpretation, e.g. {@code "MONOCHROME2"}, or null without pixel data. */
    public String photometricInterpretation() {
        return pixels == null ? null : pixels.photometric();
    }

    /**
     * The stored values of frame {@code i} ({@code rows * columns * samplesPerPixel}, row-major, colour
     * samples pixel-interleaved whatever the PlanarConfiguration): BitsStored bits from HighBit,
     * sign-extended for PixelRepresentation 1. Unsigned 32-bit values keep their bit pattern.
     */
    public int[] storedFrame(int i) throws ImageFormatException {
        return guarded(() -> decodable().samples(i));
    }

    /**
     * The modality values of frame {@code i}, one per pixel, row-major: for monochrome images the
     * stored value times RescaleSlope plus RescaleIntercept (Hounsfield units for CT); for colour
     * images the luma of the RGB colour (0-255 for 8-bit and palette images).
     */
    public float[] frame(int i) throws ImageFormatException {
        return guarded(() -> modality(i, false));
    }

    /** {@link #frame} with pixels that equal PixelPaddingValue (or lie in its range) as NaN. */
    float[] frameWithoutPadding(int i) throws ImageFormatException {
        return guarded(() -> modality(i, true));
    }

    private Frames decodable() throws ImageFormatException {
        if (pixels == null) {
            throw new ImageFormatException("no pixel data");
        }
        if (frames == null) {
            throw TransferSyntax.unsupported(syntaxUid);
        }
        return frames;
    }

    private float[] modality(int i, boolean padAsNaN) throws ImageFormatException {
        Frames f = decodable();
        int[] gray = f.gray(f.samples(i));
        float[] out = new float[gray.length];
        if (!pixels.monochrome()) {
            for (int k = 0; k < gray.length; k++) {
                out[k] = gray[k];
            }
            return out;
        }
        Double slope = dataset.decimal(Tags.RESCALE_SLOPE);
        Double intercept = dataset.decimal(Tags.RESCALE_INTERCEPT);
        double m = slope == null ? 1 : slope;
        double b = intercept == null ? 0 : intercept;
        if (m == 0) {
            throw new ImageFormatException("RescaleSlope is 0");
        }
        long[] pad = padAsNaN ? paddingRange() : null;
        for (int k = 0; k < gray.length; k++) {
            double v = pixels.numeric(gray[k]);
            out[k] = pad != null && v >= pad[0] && v <= pad[1] ? Float.NaN : (float) (v * m + b);
        }
        return out;
    }

    /** PixelPaddingValue to PixelPaddingRangeLimit (or the value alone) in stored units, or null. */
    private long[] paddingRange() throws ImageFormatException {
        Integer pad = dataset.integer(Tags.PIXEL_PADDING_VALUE);
        if (pad == null) {
            return null;
        }
        Integer limit = dataset.integer(Tags.PIXEL_PADDING_VALUE + 1);
        long a = storedUnits(pad, Tags.PIXEL_PADDING_VALUE);
        long z = limit == null ? a : storedUnits(limit, Tags.PIXEL_PADDING_VALUE + 1);
        return new long[] {Math.min(a, z), Math.max(a, z)};
    }

    /** US/SS depends on PixelRepresentation; implicit files and careless writers say US for negative values. */
    private long storedUnits(int v, int tag) {
        return pixels.signed() && "US".equals(dataset.vr(tag)) && pixels.bitsStored() <= 16 ? (short) v : v;
    }

    /** The file's first WindowCenter/WindowWidth pair, or null when absent, malformed or of width below 1. */
    public VoiWindow fileWindow() {
        try {
            Double c = dataset.decimal(Tags.WINDOW_CENTER);
            Double w = dataset.decimal(Tags.WINDOW_WIDTH);
            return c == null || w == null || w < 1 ? null : VoiWindow.fromFile(c, w);
        } catch (ImageFormatException e) {
            return null; // a broken window only loses the file's preference, not the image
        }
    }

    /** Position, orientation, spacing, thickness and instance number, each null when absent. */
    public Geometry geometry() throws ImageFormatException {
        return guarded(() -> new Geometry(
                values(Tags.IMAGE_POSITION_PATIENT, 3),
                values(Tags.IMAGE_ORIENTATION_PATIENT, 6),
                values(Tags.PIXEL_SPACING, 2),
                dataset.decimal(Tags.SLICE_THICKNESS),
                dataset.integer(Tags.INSTANCE_NUMBER)));
    }

    private double[] values(int tag, int n) throws ImageFormatException {
        double[] v = dataset.doubles(tag);
        if (v == null) {
            return null;
        }
        if (v.length < n) {
            throw Dataset.malformed(tag);
        }
        return Arrays.copyOf(v, n);
    }

    /** The identifiers used to group images; see {@link Identifiers}. */
    public Identifiers identifiers() {
        return new Identifiers(
                dataset.string(Tags.PATIENT_ID),
                dataset.string(Tags.STUDY_INSTANCE_UID),
                dataset.string(Tags.SERIES_INSTANCE_UID),
                dataset.string(Tags.SOP_INSTANCE_UID));
    }

    /**
     * The top-level elements (file meta information first) as (tag, keyword, VR, short value,
     * identifying), identifying values shown as {@code "<hidden>"} unless {@code showPhi}.
     */
    public List<InspectEntry> inspect(boolean showPhi) {
        List<InspectEntry> out = new ArrayList<>();
        for (Dataset ds : List.of(meta, dataset)) {
            for (Dataset.Element e : ds.elements()) {
                boolean phi = TagDictionary.isIdentifying(e.tag(), e.vr());
                String keyword = TagDictionary.keyword(e.tag());
                if (keyword == null) {
                    keyword = (e.tag() >>> 16 & 1) == 1 ? "(private)" : "(unknown)";
                }
                String value = phi && !showPhi ? "<hidden>" : ds.render(e, 64);
                out.add(new InspectEntry(e.tag(), keyword, e.vr(), value, phi));
            }
        }
        return out;
    }

    /**
     * Technical, non-identifying facts for {@link org.medsearch.image.MedicalImage#metadata()}: format,
     * modality, bodyPart, rows, columns, bitsStored, photometric, transferSyntax, frames.
     */
    public Map<String, String> technicalMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", "dicom");
        putText(m, "modality", Tags.MODALITY);
        putText(m, "bodyPart", Tags.BODY_PART_EXAMINED);
        if (pixels != null) {
            m.put("rows", Integer.toString(pixels.rows()));
            m.put("columns", Integer.toString(pixels.columns()));
            m.put("bitsStored", Integer.toString(pixels.bitsStored()));
            m.put("photometric", pixels.photometric());
            m.put("frames", Integer.toString(pixels.frames()));
        }
        m.put("transferSyntax", syntax != null ? syntax.displayName() : Text.sanitize(syntaxUid, 64));
        return m;
    }

    private void putText(Map<String, String> m, String key, int tag) {
        String v = dataset.string(tag);
        if (v != null) {
            m.put(key, Text.sanitize(v, 16)); // CS values: at most 16 characters
        }
    }

    PixelModule pixelModule() {
        return pixels;
    }

    /** The largest gray value of a colour frame (its luma maximum). */
    int colourMax() throws ImageFormatException {
        return decodable().grayMax();
    }

    /** Sizes and encodings only: never a value that could identify the patient. */
    @Override
    public String toString() {
        String size = pixels == null ? "no pixel data" : pixels.columns() + "x" + pixels.rows() + "x" + pixels.frames();
        return "DicomFile[" + size + ", " + (syntax != null ? syntax.displayName() : Text.sanitize(syntaxUid, 64))
                + "]";
    }
}
