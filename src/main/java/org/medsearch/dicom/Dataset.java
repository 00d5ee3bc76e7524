package org.medsearch.dicom;

import java.nio.charset.Charset;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.medsearch.image.ImageFormatException;

/**
 * One parsed DICOM dataset (the top level of a file, or an item of a sequence): its elements in file
 * order, with values decoded on demand from the file's bytes.
 *
 * <p>Contract: the getters return null for an absent or empty element and throw
 * {@link ImageFormatException} for a value that is present but malformed (a DS that is not a number,
 * say); the message names the tag, never the value. {@link #toString()} shows only the element
 * count, so a dataset that holds patient data can be logged safely. Values are read-only views of
 * the input: nothing is copied until asked for.
 *
 * <pre>{@code
 * Dataset ds = DicomFile.parse(bytes, ReadLimits.DEFAULT).dataset();
 * String modality = ds.string(Tags.MODALITY);      // "CT"
 * double[] spacing = ds.doubles(Tags.PIXEL_SPACING); // {0.66, 0.66}
 * }</pre>
 */
public final class Dataset {

    /** A value in {@code buf}: {@code length} bytes at {@code offset}; for sequences {@code items}, for encapsulated pixel data {@code fragments}. */
    record Element(int tag, String vr, int offset, int length, List<Dataset> items, List<Fragment> fragments) {}

    /**
     * One item of encapsulated pixel data: {@code length} bytes at {@code offset}; {@code position} is the
     * distance of its item tag from the first fragment's item tag, which is what the basic offset table counts.
     */
    record Fragment(int offset, int length, long position) {}

    private static final Pattern DECIMAL = Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");
    private static final Pattern INTEGER = Pattern.compile("[+-]?\\d{1,10}");

    final byte[] buf;
    final boolean bigEndian;
    Charset charset;
    private final Map<Integer, Element> elements = new LinkedHashMap<>();

    Dataset(byte[] buf, boolean bigEndian, Charset charset) {
        this.buf = buf;
        this.bigEndian = bigEndian;
        this.charset = charset;
    }

    /** Keeps the first of duplicate tags, as dcmtk does. */
    void add(Element e) {
        elements.putIfAbsent(e.tag(), e);
    }

    Element element(int tag) {
        return elements.get(tag);
    }

    List<Element> elements() {
        return List.copyOf(elements.values());
    }

    public boolean contains(int tag) {
        return elements.containsKey(tag);
    }

    /** The tags present, in file order. */
    public int[] tags() {
        return elements.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    public int size() {
        return elements.size();
    }

    /** The VR as encoded (explicit files) or from the dictionary (implicit files), or null when absent. */
    public String vr(int tag) {
        Element e = elements.get(tag);
        return e == null ? null : e.vr;
    }

    /** The value length in bytes, or -1 when absent or of undefined length. */
    public int length(int tag) {
        Element e = elements.get(tag);
        return e == null ? -1 : e.length;
    }

    /** A copy of the raw value bytes (in the file's byte order), or null. */
    public byte[] bytes(int tag) {
        Element e = elements.get(tag);
        return e == null || e.length < 0 ? null : Arrays.copyOfRange(buf, e.offset, e.offset + e.length);
    }

    /** The items of a sequence, or an empty list. */
    public List<Dataset> items(int tag) {
        Element e = elements.get(tag);
        return e == null || e.items == null ? List.of() : e.items;
    }

    /** A text value without its padding (all values, backslash-separated), or null when absent or empty. */
    public String string(int tag) {
        Element e = elements.get(tag);
        if (e == null || e.length <= 0) {
            return null;
        }
        String s =
                new String(buf, e.offset, e.length, charset).replace("\0", "").strip();
        return s.isEmpty() ? null : s;
    }

    /** The backslash-separated values of a text element, each trimmed, or null. */
    public String[] strings(int tag) {
        String s = string(tag);
        if (s == null) {
            return null;
        }
        String[] parts = s.split("\\\\", -1);
        for (int i = 0; i < parts.length; i++) {
            parts[i] = parts[i].strip();
        }
        return parts;
    }

    /** The numeric values of a binary (US, SS, UL, SL, FL, FD, SV, UV) or decimal-string (DS, IS) element, or null. */
    public double[] doubles(int tag) throws ImageFormatException {
        Element e = elements.get(tag);
        if (e == null || e.length <= 0) {
            return null;
        }
        String vr = effectiveVr(e);
        int size = binarySize(vr);
        if (size > 0) {
            int n = e.length / size;
            if (n == 0) {
                throw malformed(tag);
            }
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                out[i] = binaryValue(vr, e.offset + i * size);
            }
            return out;
        }
        if (!"DS".equals(vr) && !"IS".equals(vr)) {
            throw malformed(tag);
        }
        String[] parts = strings(tag);
        if (parts == null) {
            return null;
        }
        double[] out = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            if (!DECIMAL.matcher(parts[i]).matches()) {
                throw malformed(tag);
            }
            out[i] = Double.parseDouble(parts[i]);
            if (!Double.isFinite(out[i])) {
                throw malformed(tag);
            }
        }
        return out;
    }

    /** The first value as a double, or null. */
    public Double decimal(int tag) throws ImageFormatException {
        double[] d = doubles(tag);
        return d == null ? null : d[0];
    }

    /** The first value of an integer element (US, SS, UL, SL, IS, ...), or null; values beyond int range are malformed. */
    public Integer integer(int tag) throws ImageFormatException {
        Element e = elements.get(tag);
        if (e == null || e.length <= 0) {
            return null;
        }
        String vr = effectiveVr(e);
        if ("IS".equals(vr)) {
            String[] parts = strings(tag);
            if (parts == null) {
                return null;
            }
            if (!INTEGER.matcher(parts[0]).matches()) {
                throw malformed(tag);
            }
            long v = Long.parseLong(parts[0]);
            if (v != (int) v) {
                throw malformed(tag);
            }
            return (int) v;
        }
        double[] d = doubles(tag);
        if (d == null) {
            return null;
        }
        if (d[0] != Math.rint(d[0]) || d[0] > Integer.MAX_VALUE || d[0] < Integer.MIN_VALUE) {
            throw malformed(tag);
        }
        return (int) d[0];
    }

    /** The VR to interpret a value with: UN values of known tags use the dictionary's VR. */
    static String effectiveVr(Element e) {
        if ("UN".equals(e.vr)) {
            String v = TagDictionary.vr(e.tag);
            return v == null ? "UN" : v;
        }
        return e.vr;
    }

    static int binarySize(String vr) {
        return switch (vr) {
            case "US", "SS" -> 2;
            case "UL", "SL", "FL", "AT" -> 4;
            case "FD", "SV", "UV" -> 8;
            default -> 0;
        };
    }

    double binaryValue(String vr, int off) {
        return switch (vr) {
            case "US" -> u16(off);
            case "SS" -> (short) u16(off);
            case "UL", "AT" -> Integer.toUnsignedLong(i32(off));
            case "SL" -> i32(off);
            case "FL" -> Float.intBitsToFloat(i32(off));
            case "FD" -> Double.longBitsToDouble(i64(off));
            case "SV" -> i64(off);
            case "UV" -> {
                long v = i64(off);
                yield v >= 0 ? v : (v >>> 1) * 2.0 + (v & 1);
            }
            default -> throw new IllegalArgumentException(vr);
        };
    }

    int u16(int off) {
        return u16(buf, off, bigEndian);
    }

    int i32(int off) {
        return (int) u32(buf, off, bigEndian);
    }

    long i64(int off) {
        long a = u32(buf, off, bigEndian);
        long b = u32(buf, off + 4, bigEndian);
        return bigEndian ? a << 32 | b : b << 32 | a;
    }

    /** The one byte-order reader of the package: the parser, the sniffer and the codecs use it too. */
    static int u16(byte[] b, int off, boolean bigEndian) {
        return bigEndian ? (b[off] & 0xff) << 8 | (b[off + 1] & 0xff) : (b[off] & 0xff) | (b[off + 1] & 0xff) << 8;
    }

    static long u32(byte[] b, int off, boolean bigEndian) {
        long lo = u16(b, off, bigEndian);
        long hi = u16(b, off + 2, bigEndian);
        return bigEndian ? lo << 16 | hi : hi << 16 | lo;
    }

    static ImageFormatException malformed(int tag) {
        String k = TagDictionary.keyword(tag);
        return new ImageFormatException("malformed value in " + Text.tag(tag) + (k == null ? "" : " " + k));
    }

    /** A short rendering of an element's value for inspection (never called for hidden values). */
    String render(Element e, int maxChars) {
        if (e.items != null) {
            return "<sequence of " + e.items.size() + " item" + (e.items.size() == 1 ? "" : "s") + ">";
        }
        if (e.fragments != null) {
            return "<encapsulated, " + e.fragments.size() + " fragments>";
        }
        if (e.length <= 0) {
            return "";
        }
        String vr = effectiveVr(e);
        int size = binarySize(vr);
        if ("AT".equals(vr) && e.length >= 4) {
            return Text.tag(u16(e.offset) << 16 | u16(e.offset + 2));
        }
        if (size > 0) {
            StringBuilder b = new StringBuilder();
            int n = e.length / size;
            for (int i = 0; i < n && b.length() < maxChars; i++) {
                double v = binaryValue(vr, e.offset + i * size);
                b.append(i == 0 ? "" : "\\")
                        .append(v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v));
            }
            return Text.sanitize(b.toString(), maxChars);
        }
        switch (vr) {
            case "OB", "OW", "OD", "OF", "OL", "OV", "UN":
                return "<" + e.length + " bytes>";
            default:
                return Text.sanitize(
                        new String(buf, e.offset, Math.min(e.length, maxChars * 4), charset)
                                .replace("\0", "")
                                .strip(),
                        maxChars);
        }
    }

    /** Element count only: values may identify a patient. */
    @Override
    public String toString() {
        return "Dataset[" + elements.size() + " elements]";
    }
}
