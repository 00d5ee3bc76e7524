package org.medsearch.dicom;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.medsearch.image.ImageFormatException;

/**
 * Reads the element structure of a dataset: tags, VRs, lengths, nested sequences and the items of
 * encapsulated pixel data. Values stay in the input array; only their offsets are kept.
 *
 * <p>Every length is checked against the bytes that remain before anything is allocated or skipped,
 * each element consumes at least 8 bytes (so every loop ends), nesting is limited to
 * {@value #MAX_DEPTH} levels and a file to {@value #MAX_ELEMENTS} elements.
 */
final class DicomParser {
    static final int MAX_DEPTH = 32;
    static final int MAX_ELEMENTS = 1 << 20;
    private static final long UNDEFINED = 0xFFFFFFFFL;

    private static final Set<String> VRS = Set.of(
            "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW",
            "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV");
    /** VRs with a 2-byte reserved field and a 4-byte length in explicit encodings. */
    private static final Set<String> LONG_VRS =
            Set.of("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV");
    /** The VR strings by their two letters, {@code (first - 'A') * 26 + (second - 'A')}: no allocation per element. */
    private static final String[] VR_TABLE = new String[26 * 26];

    static {
        for (String vr : VRS) {
            VR_TABLE[(vr.charAt(0) - 'A') * 26 + vr.charAt(1) - 'A'] = vr;
        }
    }

    private final byte[] buf;
    private int pos;
    private int elements;

    DicomParser(byte[] buf, int start) {
        this.buf = buf;
        this.pos = start;
    }

    int position() {
        return pos;
    }

    /** The file meta information: explicit VR little endian elements of group 0002 from the current position. */
    Dataset readMeta() throws ImageFormatException {
        Dataset meta = new Dataset(buf, false, StandardCharsets.ISO_8859_1);
        while (buf.length - pos >= 8 && u16(pos, false) == 0x0002) {
            readElement(meta, buf.length, true, 0);
        }
        return meta;
    }

    /** The rest of the input as one dataset. */
    Dataset readTopLevel(boolean explicit, boolean bigEndian) throws ImageFormatException {
        Dataset ds = new Dataset(buf, bigEndian, StandardCharsets.ISO_8859_1);
        readDataset(ds, buf.length, explicit, false, 0);
        return ds;
    }

    /** The two bytes at {@code off} form a known VR. */
    static boolean isVr(byte[] b, int off) {
        return vrAt(b, off) != null;
    }

    private static String vrAt(byte[] b, int off) {
        if (off + 2 > b.length || b[off] < 'A' || b[off] > 'Z' || b[off + 1] < 'A' || b[off + 1] > 'Z') {
            return null;
        }
        return VR_TABLE[(b[off] - 'A') * 26 + b[off + 1] - 'A'];
    }

    private void readDataset(Dataset ds, int limit, boolean explicit, boolean untilItemEnd, int depth)
            throws ImageFormatException {
        while (true) {
            if (pos == limit) {
                if (untilItemEnd) {
                    throw truncated("sequence item without its end");
                }
                return;
            }
            if (limit - pos < 8) {
                if (depth == 0 && allZero(pos, limit)) {
                    pos = limit; // a few bytes of padding after the last element
                    return;
                }
                throw truncated("element header cut short at offset " + pos);
            }
            int tag = tag(pos, ds.bigEndian);
            if (tag == Tags.ITEM_DELIMITATION && untilItemEnd) {
                pos += 8;
                return;
            }
            if (tag >>> 16 == 0xFFFE) {
                throw new ImageFormatException("unexpected " + Text.tag(tag) + " at offset " + pos);
            }
            readElement(ds, limit, explicit, depth);
        }
    }

    private void readElement(Dataset ds, int limit, boolean explicit, int depth) throws ImageFormatException {
        boolean be = ds.bigEndian;
        int tag = tag(pos, be);
        String vr = explicit ? vrAt(buf, pos + 4) : null;
        long len;
        if (vr != null) {
            if (LONG_VRS.contains(vr)) {
                if (limit - pos < 12) {
                    throw truncated("element header cut short at offset " + pos);
                }
                len = u32(pos + 8, be);
                pos += 12;
            } else {
                len = u16(pos + 6, be);
                pos += 8;
            }
        } else {
            // implicit VR, or an explicit file that slipped into implicit for one element (dcmtk tolerates it too)
            String known = TagDictionary.vr(tag);
            vr = known != null ? known : tag == Tags.PIXEL_DATA ? "OW" : "UN";
            len = u32(pos + 4, be);
            pos += 8;
        }
        if (++elements > MAX_ELEMENTS) {
            throw new ImageFormatException("more than " + MAX_ELEMENTS + " elements");
        }
        if (len == UNDEFINED) {
            if (depth >= MAX_DEPTH) {
                throw new ImageFormatException("sequences nested deeper than " + MAX_DEPTH + " levels");
            }
            if (tag == Tags.PIXEL_DATA || "OB".equals(vr) || "OW".equals(vr)) {
                ds.add(new Dataset.Element(tag, vr, pos, -1, null, readFragments(limit, be)));
            } else {
                // an undefined-length UN holds implicit VR little endian items (PS3.5 6.2.2)
                boolean un = "UN".equals(vr);
                List<Dataset> items = readSequence(tag, limit, -1, explicit && !un, be && !un, ds.charset, depth + 1);
                ds.add(new Dataset.Element(tag, un ? "SQ" : vr, pos, -1, items, null));
            }
            return;
        }
        if (len > limit - pos) {
            throw truncated("element " + Text.tag(tag) + " of " + len + " bytes runs past the end of the data");
        }
        int start = pos;
        int n = (int) len;
        if ("SQ".equals(vr)) {
            if (depth >= MAX_DEPTH) {
                throw new ImageFormatException("sequences nested deeper than " + MAX_DEPTH + " levels");
            }
            List<Dataset> items = readSequence(tag, limit, start + n, explicit, be, ds.charset, depth + 1);
            ds.add(new Dataset.Element(tag, vr, start, n, items, null));
            return;
        }
        ds.add(new Dataset.Element(tag, vr, start, n, null, null));
        if (tag == Tags.SPECIFIC_CHARACTER_SET) {
            ds.charset = Text.charset(new String(buf, start, n, StandardCharsets.US_ASCII));
        }
        pos = start + n;
    }

    /** Items until {@code end} (defined length) or until the sequence delimiter ({@code end < 0}). */
    private List<Dataset> readSequence(
            int seqTag, int limit, int end, boolean explicit, boolean be, Charset cs, int depth)
            throws ImageFormatException {
        List<Dataset> items = new ArrayList<>();
        int stop = end < 0 ? limit : end;
        while (true) {
            if (end >= 0 && pos == end) {
                return items;
            }
            if (stop - pos < 8) {
                throw truncated("sequence " + Text.tag(seqTag) + " cut short");
            }
            int tag = tag(pos, be);
            long len = u32(pos + 4, be);
            pos += 8;
            if (tag == Tags.SEQUENCE_DELIMITATION && end < 0) {
                return items;
            }
            if (tag != Tags.ITEM) {
                throw new ImageFormatException(
                        "expected an item in sequence " + Text.tag(seqTag) + ", found " + Text.tag(tag));
            }
            if (++elements > MAX_ELEMENTS) {
                throw new ImageFormatException("more than " + MAX_ELEMENTS + " elements");
            }
            Dataset item = new Dataset(buf, be, cs);
            if (len == UNDEFINED) {
                readDataset(item, stop, explicit, true, depth);
            } else {
                if (len > stop - pos) {
                    throw truncated("item of sequence " + Text.tag(seqTag) + " runs past its end");
                }
                readDataset(item, pos + (int) len, explicit, false, depth);
            }
            items.add(item);
        }
    }

    /** The items of encapsulated pixel data up to the sequence delimiter; the first is the basic offset table. */
    private List<Dataset.Fragment> readFragments(int limit, boolean be) throws ImageFormatException {
        List<Dataset.Fragment> fragments = new ArrayList<>();
        long first = -1;
        while (true) {
            if (limit - pos < 8) {
                throw truncated("encapsulated pixel data cut short");
            }
            int tag = tag(pos, be);
            long len = u32(pos + 4, be);
            if (tag == Tags.SEQUENCE_DELIMITATION) {
                pos += 8;
                if (fragments.isEmpty()) {
                    throw new ImageFormatException("encapsulated pixel data without a basic offset table item");
                }
                return fragments;
            }
            if (tag != Tags.ITEM) {
                throw new ImageFormatException("expected a pixel data item, found " + Text.tag(tag));
            }
            if (len == UNDEFINED || len > limit - pos - 8) {
                throw truncated("pixel data fragment runs past the end of the data");
            }
            if (++elements > MAX_ELEMENTS) {
                throw new ImageFormatException("more than " + MAX_ELEMENTS + " elements");
            }
            if (!fragments.isEmpty() && first < 0) {
                first = pos;
            }
            fragments.add(new Dataset.Fragment(pos + 8, (int) len, first < 0 ? -1 : pos - first));
            pos += 8 + (int) len;
        }
    }

    private boolean allZero(int from, int to) {
        for (int i = from; i < to; i++) {
            if (buf[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static ImageFormatException truncated(String what) {
        return new ImageFormatException("truncated or corrupt DICOM: " + what);
    }

    /** Group then element, each in the file's byte order (not one 32-bit value). */
    private int tag(int off, boolean be) {
        return u16(off, be) << 16 | u16(off + 2, be);
    }

    private int u16(int off, boolean be) {
        return Dataset.u16(buf, off, be);
    }

    private long u32(int off, boolean be) {
        return Dataset.u32(buf, off, be);
    }
}
