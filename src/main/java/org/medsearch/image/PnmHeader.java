package org.medsearch.image;

import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The header of a Netpbm file: PBM, PGM and PPM ({@code P1} to {@code P6}) and PAM ({@code P7}).
 *
 * <p>We parse it ourselves rather than leave it to the TwelveMonkeys plug-in for two reasons. A
 * hostile or truncated file is refused from its header, before any pixel memory is taken: the
 * samples are stored uncompressed, so the header says exactly how many bytes must follow. And the
 * samples' range (maxval) stays ours: the plug-in rescales samples to 8 or 16 bits with integer
 * arithmetic that truncates (a 12-bit 2048 becomes 32775 of 65535) and overflows for maxval 128 to
 * 254 and 32768 to 65534 (a PGM with maxval 40000 comes back scrambled). So the plug-in is handed
 * {@link #stream} instead of the file: the same samples behind a header whose maxval is 255 or
 * 65535, which it passes through unchanged, and the reader divides by the file's own maxval. The
 * plain (text) variants, which the plug-in reads leniently, are first rewritten as binary by
 * {@link #toBinary}, which checks every sample.
 *
 * <pre>{@code
 * PnmHeader h = PnmHeader.parse(bytes);         // "P5\n4096 3328\n4095\n...": 12-bit gray
 * h.checkData(bytes.length);                    // truncated: an ImageFormatException
 * // (a plain P1, P2 or P3: bytes = h.toBinary(bytes); h = PnmHeader.parse(bytes);)
 * reader.setInput(ImageIO.createImageInputStream(h.stream(bytes)));
 * }</pre>
 */
final class PnmHeader {

    /** The file type digit, {@code '1'} to {@code '7'}. */
    final char kind;

    final int width;
    final int height;
    /** Samples per pixel: 1 for PBM and PGM, 3 for PPM, 1 to 4 for PAM. */
    final int depth;
    /** The sample value meaning full intensity (1 for PBM). */
    final int maxval;
    /** The PAM tuple type the plug-in is told (BLACKANDWHITE becomes GRAYSCALE: same bytes). */
    final String tupleType;
    /** Where the samples start. */
    final int dataOffset;

    private PnmHeader(char kind, int width, int height, int depth, int maxval, String tupleType, int dataOffset) {
        this.kind = kind;
        this.width = width;
        this.height = height;
        this.depth = depth;
        this.maxval = maxval;
        this.tupleType = tupleType;
        this.dataOffset = dataOffset;
    }

    /** Whether the leading bytes are a Netpbm magic number followed by what must come next. */
    static boolean looksLikePnm(byte[] h) {
        if (h.length < 3 || h[0] != 'P' || h[1] < '1' || h[1] > '7') {
            return false;
        }
        if (h[1] == '7') {
            return h[2] == '\n' || (h[2] == '\r' && h.length > 3 && h[3] == '\n');
        }
        if (!whitespace(h[2])) {
            return false;
        }
        // the width, or a comment before it; "P2 is a..." in a text file is not an image
        for (int i = 3; i < h.length; i++) {
            if (!whitespace(h[i])) {
                return h[i] == '#' || (h[i] >= '0' && h[i] <= '9');
            }
        }
        return true;
    }

    /** {@code pbm}, {@code pgm}, {@code ppm} or {@code pam}, from the magic number alone. */
    static String format(byte[] h) {
        return name((char) h[1]);
    }

    private static String name(char kind) {
        return switch (kind) {
            case '1', '4' -> "pbm";
            case '2', '5' -> "pgm";
            case '3', '6' -> "ppm";
            default -> "pam";
        };
    }

    /**
     * Parses the header at the start of {@code b}, which {@link #looksLikePnm} accepted.
     *
     * @throws ImageFormatException for a header that is malformed or cut short, or a field out of range
     */
    static PnmHeader parse(byte[] b) throws ImageFormatException {
        return new Parser(b).header();
    }

    /** {@link #format(byte[])} of this file. */
    String format() {
        return name(kind);
    }

    /** PBM: one bit per pixel, 1 is black, no maxval. */
    boolean bitmap() {
        return kind == '1' || kind == '4';
    }

    /** The bits of information in a sample: 12 for maxval 4095, 1 for a bitmap. */
    int significantBits() {
        return 32 - Integer.numberOfLeadingZeros(maxval);
    }

    /**
     * The fewest bytes of samples a file with this header can hold: exact for the binary types; for
     * the plain (ASCII) ones, one digit per PBM pixel and a digit and a separator per other sample.
     */
    long minimumDataBytes() {
        long samples = ReadLimits.rasterBytes(width, height, depth, 8, 1);
        return switch (kind) {
            case '1' -> samples;
            case '2', '3' -> samples > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : 2 * samples - 1;
            case '4' -> ReadLimits.rasterBytes((width + 7L) / 8, height, 1, 8, 1);
            default -> ReadLimits.rasterBytes(width, height, depth, maxval > 255 ? 16 : 8, 1);
        };
    }

    /**
     * Throws when the file ends before the samples its header declares; call it after the size limits,
     * so that a hostile header is refused as too large, like any other format's.
     */
    void checkData(long fileLength) throws ImageFormatException {
        long need = minimumDataBytes();
        long have = fileLength - dataOffset;
        if (have < need) {
            throw new ImageFormatException("corrupt or truncated " + format().toUpperCase(Locale.ROOT) + " (the header"
                    + " declares " + width + "x" + height + " pixels, " + (plain() ? "at least " : "") + need
                    + " bytes of samples, and " + Math.max(0, have) + " follow)");
        }
    }

    /**
     * The file as the plug-in should see it: a minimal header of the same type and size with maxval
     * 255 (samples of one byte) or 65535 (two bytes), then the file's own samples, not copied. For a
     * binary file only: the plain ones go through {@link #toBinary} first.
     */
    InputStream stream(byte[] file) {
        String header;
        if (kind == '7') {
            header = "P7\nWIDTH " + width + "\nHEIGHT " + height + "\nDEPTH " + depth + "\nMAXVAL "
                    + (maxval > 255 ? 65535 : 255) + "\nTUPLTYPE " + tupleType + "\nENDHDR\n";
        } else if (bitmap()) {
            header = "P" + kind + "\n" + width + " " + height + "\n";
        } else {
            header = "P" + kind + "\n" + width + " " + height + "\n" + (maxval > 255 ? 65535 : 255) + "\n";
        }
        return new SequenceInputStream(
                new ByteArrayInputStream(header.getBytes(StandardCharsets.US_ASCII)),
                new ByteArrayInputStream(file, dataOffset, file.length - dataOffset));
    }

    /** Whether the samples are written as decimal text (P1, P2, P3). */
    boolean plain() {
        return kind == '1' || kind == '2' || kind == '3';
    }

    /**
     * The file rewritten in the binary form of its type (P1 to P4, P2 to P5, P3 to P6), checking every
     * sample on the way. The plug-in's text decoders are lenient where we must not be: a P1 that ends
     * early or holds other digits, or a P2 sample above 255, comes back as pixels, not as an error.
     * The copy is no larger than the text it replaces (a sample takes at least two characters).
     *
     * @throws ImageFormatException for a non-digit, a sample above maxval, or too few samples
     */
    byte[] toBinary(byte[] file) throws ImageFormatException {
        String label = format().toUpperCase(Locale.ROOT);
        boolean bitmap = bitmap();
        int wide = maxval > 255 ? 2 : 1;
        long n = (long) width * height * depth;
        String header = "P" + (char) (kind + 3) + "\n" + width + " " + height + "\n" + (bitmap ? "" : maxval + "\n");
        long body = bitmap ? (width + 7L) / 8 * height : n * wide;
        if (header.length() + body > Integer.MAX_VALUE - 16) {
            throw new ImageFormatException("image of " + width + "x" + height + " pixels is too large to convert");
        }
        byte[] out = new byte[(int) (header.length() + body)];
        byte[] head = header.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, out, 0, head.length);
        int o = head.length;
        int p = dataOffset;
        for (long i = 0; i < n; i++) {
            while (p < file.length && (whitespace(file[p]) || file[p] == '#')) {
                if (file[p] == '#') { // netpbm's own reader skips comments in a plain raster too
                    while (p < file.length && file[p] != '\n' && file[p] != '\r') {
                        p++;
                    }
                } else {
                    p++;
                }
            }
            if (p >= file.length) {
                throw new ImageFormatException("corrupt or truncated " + label + " (it ends after " + i + " of the " + n
                        + " samples its header declares)");
            }
            int v = 0;
            int start = p;
            // a PBM's samples need no separator ("0110"): one digit each
            while (p < file.length && file[p] >= '0' && file[p] <= '9' && (!bitmap || p == start)) {
                v = Math.min(v * 10 + file[p++] - '0', 1 << 20);
            }
            if (p == start || (p < file.length && !whitespace(file[p]) && file[p] != '#' && !bitmap)) {
                throw new ImageFormatException("corrupt " + label + " (sample " + i + " is not a number)");
            }
            if (v > maxval) {
                throw new ImageFormatException(
                        "corrupt " + label + " (a sample of " + v + " is above the header's maxval of " + maxval + ")");
            }
            if (bitmap) {
                long x = i % width;
                int at = o + (int) ((i / width) * ((width + 7L) / 8) + x / 8);
                out[at] |= (byte) (v << (7 - x % 8));
            } else if (wide == 2) {
                out[o++] = (byte) (v >> 8);
                out[o++] = (byte) v;
            } else {
                out[o++] = (byte) v;
            }
        }
        return out;
    }

    /**
     * Throws when a decoded sample exceeds maxval: the file is corrupt, and clamping would hide it.
     * Nothing to check where maxval is the largest value the samples can hold.
     */
    void checkSamples(Raster r) throws ImageFormatException {
        if (bitmap() || maxval == 255 || maxval == 65535) {
            return;
        }
        int w = r.getWidth();
        int[] row = new int[w];
        for (int band = 0; band < r.getNumBands(); band++) {
            for (int y = 0; y < r.getHeight(); y++) {
                r.getSamples(r.getMinX(), r.getMinY() + y, w, 1, band, row);
                for (int v : row) {
                    if (v > maxval) {
                        throw new ImageFormatException("corrupt " + format().toUpperCase(Locale.ROOT) + " (a sample of "
                                + v + " is above the header's maxval of " + maxval + ")");
                    }
                }
            }
        }
    }

    static boolean whitespace(byte c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == 0x0c;
    }

    /** One pass over the header bytes; every failure names the format and the field. */
    private static final class Parser {
        private final byte[] b;
        private final char kind;
        private final String label;
        private int pos;

        Parser(byte[] b) {
            this.b = b;
            this.kind = (char) b[1];
            this.label = format(b).toUpperCase(Locale.ROOT);
            this.pos = 2;
        }

        PnmHeader header() throws ImageFormatException {
            return kind == '7' ? pam() : classic();
        }

        private PnmHeader classic() throws ImageFormatException {
            int width = number("width");
            int height = number("height");
            boolean bitmap = kind == '1' || kind == '4';
            int maxval = bitmap ? 1 : number("maxval");
            if (maxval < 1 || maxval > 65535) {
                throw error("maxval " + maxval + " is outside 1..65535");
            }
            // one whitespace character ends the header, a comment may come before it
            if (pos < b.length && b[pos] == '#') {
                skipComment();
            }
            if (pos >= b.length) {
                throw truncated();
            }
            if (!whitespace(b[pos])) {
                throw error("expected whitespace after the " + (bitmap ? "height" : "maxval"));
            }
            int depth = kind == '3' || kind == '6' ? 3 : 1;
            return new PnmHeader(kind, width, height, depth, maxval, null, pos + 1);
        }

        private PnmHeader pam() throws ImageFormatException {
            int width = -1;
            int height = -1;
            int depth = -1;
            int maxval = -1;
            StringBuilder tuple = new StringBuilder();
            while (true) {
                skipWhitespaceAndComments();
                String field = word();
                if (field.equals("ENDHDR")) {
                    break;
                }
                switch (field) {
                    case "WIDTH" -> width = number("WIDTH");
                    case "HEIGHT" -> height = number("HEIGHT");
                    case "DEPTH" -> depth = number("DEPTH");
                    case "MAXVAL" -> maxval = number("MAXVAL");
                    case "TUPLTYPE" ->
                        tuple.append(tuple.length() > 0 ? " " : "").append(restOfLine());
                    default -> throw error("unknown header field '" + printable(field) + "'");
                }
            }
            // the samples start after the newline that ends the ENDHDR line
            while (pos < b.length && b[pos] != '\n') {
                if (!whitespace(b[pos++])) {
                    throw error("text after ENDHDR");
                }
            }
            if (pos >= b.length) {
                throw truncated();
            }
            pos++;
            if (width < 0 || height < 0 || depth < 0 || maxval < 0) {
                throw error("the header lacks one of WIDTH, HEIGHT, DEPTH and MAXVAL");
            }
            if (maxval < 1 || maxval > 65535) {
                throw error("maxval " + maxval + " is outside 1..65535");
            }
            String type = tuple.toString();
            if (type.isEmpty()) {
                String[] byDepth = {"GRAYSCALE", "GRAYSCALE_ALPHA", "RGB", "RGB_ALPHA"};
                if (depth < 1 || depth > byDepth.length) {
                    throw error("DEPTH " + depth + " without a TUPLTYPE");
                }
                type = byDepth[depth - 1];
            }
            int expected = switch (type) {
                case "BLACKANDWHITE", "GRAYSCALE" -> 1;
                case "BLACKANDWHITE_ALPHA", "GRAYSCALE_ALPHA" -> 2;
                case "RGB" -> 3;
                case "RGB_ALPHA" -> 4;
                default ->
                    throw new ImageFormatException("unsupported PAM tuple type '" + printable(type)
                            + "' (medsearch reads GRAYSCALE, RGB, BLACKANDWHITE and their _ALPHA forms)");
            };
            if (depth != expected) {
                throw error("DEPTH " + depth + " does not fit tuple type " + type);
            }
            // the plug-in would read BLACKANDWHITE as bits; in a PAM it is a byte per sample, 0 or 1
            String told = type.replace("BLACKANDWHITE", "GRAYSCALE");
            return new PnmHeader(kind, width, height, depth, maxval, told, pos);
        }

        /** A decimal field; one beyond Integer.MAX_VALUE is refused rather than wrapped. */
        private int number(String what) throws ImageFormatException {
            skipWhitespaceAndComments();
            int start = pos;
            long v = 0;
            while (pos < b.length && b[pos] >= '0' && b[pos] <= '9') {
                v = Math.min(v * 10 + (b[pos++] - '0'), 1L << 40);
            }
            if (pos == start || (pos < b.length && !whitespace(b[pos]) && b[pos] != '#')) {
                pos = start;
                throw error("expected the " + what + ", found '" + printable(word()) + "'");
            }
            if (v > Integer.MAX_VALUE) {
                throw error(what + " " + printable(new String(b, start, pos - start, StandardCharsets.US_ASCII))
                        + " is too large");
            }
            return (int) v;
        }

        private String word() throws ImageFormatException {
            int start = pos;
            while (pos < b.length && !whitespace(b[pos]) && pos - start < 64) {
                pos++;
            }
            if (pos == start) {
                throw truncated();
            }
            return new String(b, start, pos - start, StandardCharsets.US_ASCII);
        }

        private String restOfLine() {
            int start = pos;
            while (pos < b.length && b[pos] != '\n' && b[pos] != '\r') {
                pos++;
            }
            return new String(b, start, pos - start, StandardCharsets.US_ASCII).trim();
        }

        private void skipWhitespaceAndComments() throws ImageFormatException {
            while (pos < b.length) {
                if (b[pos] == '#') {
                    skipComment();
                } else if (whitespace(b[pos])) {
                    pos++;
                } else {
                    return;
                }
            }
            throw truncated();
        }

        private void skipComment() {
            while (pos < b.length && b[pos] != '\n' && b[pos] != '\r') {
                pos++;
            }
        }

        private ImageFormatException error(String what) {
            return new ImageFormatException("corrupt " + label + " header (" + what + ")");
        }

        private ImageFormatException truncated() {
            return new ImageFormatException("corrupt or truncated " + label + " (the file ends inside its header)");
        }

        /** A field as it may be quoted in a one-line message: short, ASCII, no control characters. */
        private static String printable(String s) {
            String t = s.replaceAll("[^\\x20-\\x7e]", "?");
            return t.length() > 40 ? t.substring(0, 40) + "..." : t;
        }
    }
}
