package org.medsearch.dicom;

import java.util.Map;
import org.medsearch.image.ImageFormatException;

/**
 * The transfer syntaxes medsearch decodes: how the dataset is encoded (VR explicit or implicit, byte
 * order, deflate) and how the pixel data is compressed.
 *
 * <p>Contract: {@link #of} returns the syntax for a supported UID and throws
 * {@link ImageFormatException} with the message {@code "unsupported transfer syntax <uid> (<name>)"}
 * for any other one, so a caller never decodes pixels it does not understand.
 *
 * <pre>{@code
 * TransferSyntax ts = TransferSyntax.of("1.2.840.10008.1.2.4.80");
 * assert ts == TransferSyntax.JPEG_LS_LOSSLESS && ts.encapsulated();
 * }</pre>
 */
public enum TransferSyntax {
    IMPLICIT_VR_LITTLE_ENDIAN("1.2.840.10008.1.2", "Implicit VR Little Endian", Codec.NATIVE),
    EXPLICIT_VR_LITTLE_ENDIAN("1.2.840.10008.1.2.1", "Explicit VR Little Endian", Codec.NATIVE),
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", Codec.NATIVE),
    EXPLICIT_VR_BIG_ENDIAN("1.2.840.10008.1.2.2", "Explicit VR Big Endian", Codec.NATIVE),
    JPEG_BASELINE("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", Codec.JPEG),
    JPEG_EXTENDED("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", Codec.JPEG),
    JPEG_LOSSLESS("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", Codec.JPEG),
    JPEG_LOSSLESS_SV1("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction", Codec.JPEG),
    JPEG_LS_LOSSLESS("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", Codec.JPEG_LS),
    JPEG_LS_NEAR_LOSSLESS("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)", Codec.JPEG_LS),
    JPEG_2000_LOSSLESS("1.2.840.10008.1.2.4.90", "JPEG 2000 (Lossless Only)", Codec.JPEG_2000),
    JPEG_2000("1.2.840.10008.1.2.4.91", "JPEG 2000", Codec.JPEG_2000),
    RLE_LOSSLESS("1.2.840.10008.1.2.5", "RLE Lossless", Codec.RLE);

    /** How frames are stored. */
    enum Codec {
        NATIVE,
        RLE,
        JPEG,
        JPEG_LS,
        JPEG_2000
    }

    /** Names of syntaxes we recognise but do not decode, for the error message. */
    private static final Map<String, String> UNSUPPORTED = Map.ofEntries(
            Map.entry("1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian"),
            Map.entry("1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5, retired)"),
            Map.entry("1.2.840.10008.1.2.4.53", "JPEG Spectral Selection (retired)"),
            Map.entry("1.2.840.10008.1.2.4.55", "JPEG Full Progression (retired)"),
            Map.entry("1.2.840.10008.1.2.4.58", "JPEG Lossless, Process 15 (retired)"),
            Map.entry("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component (Lossless Only)"),
            Map.entry("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component"),
            Map.entry("1.2.840.10008.1.2.4.94", "JPIP Referenced"),
            Map.entry("1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate"),
            Map.entry("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
            Map.entry("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"),
            Map.entry("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile"),
            Map.entry("1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile"),
            Map.entry("1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile For 2D Video"),
            Map.entry("1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile For 3D Video"),
            Map.entry("1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile"),
            Map.entry("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile"),
            Map.entry("1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile"),
            Map.entry("1.2.840.10008.1.2.4.110", "JPEG XL Lossless"),
            Map.entry("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression"),
            Map.entry("1.2.840.10008.1.2.4.112", "JPEG XL"),
            Map.entry("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 (Lossless Only)"),
            Map.entry("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)"),
            Map.entry("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"),
            Map.entry("1.2.840.10008.1.2.6.1", "RFC 2557 MIME encapsulation (retired)"),
            Map.entry("1.2.840.10008.1.2.6.2", "XML Encoding (retired)"));

    private final String uid;
    private final String displayName;
    private final Codec codec;

    TransferSyntax(String uid, String displayName, Codec codec) {
        this.uid = uid;
        this.displayName = displayName;
        this.codec = codec;
    }

    public String uid() {
        return uid;
    }

    /** The standard's name, e.g. {@code "JPEG-LS Lossless"}; safe for metadata and messages. */
    public String displayName() {
        return displayName;
    }

    Codec codec() {
        return codec;
    }

    /** Whether pixel data is a sequence of compressed fragments rather than raw samples. */
    public boolean encapsulated() {
        return codec != Codec.NATIVE;
    }

    /** Whether the dataset spells out each value representation. */
    public boolean explicitVr() {
        return this != IMPLICIT_VR_LITTLE_ENDIAN;
    }

    public boolean bigEndian() {
        return this == EXPLICIT_VR_BIG_ENDIAN;
    }

    public boolean deflated() {
        return this == DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN;
    }

    /** The supported syntax for {@code uid} (trailing NUL and spaces ignored). */
    public static TransferSyntax of(String uid) throws ImageFormatException {
        TransferSyntax ts = lookup(uid);
        if (ts == null) {
            throw unsupported(uid);
        }
        return ts;
    }

    /** The supported syntax for {@code uid}, or null. */
    static TransferSyntax lookup(String uid) {
        String u = uid.trim();
        for (TransferSyntax ts : values()) {
            if (ts.uid.equals(u)) {
                return ts;
            }
        }
        return null;
    }

    static ImageFormatException unsupported(String uid) {
        // a UID is digits and dots: anything else from the file is not echoed
        String u = Text.sanitize(uid.trim().replaceAll("[^0-9.]", "?"), 64);
        return new ImageFormatException(
                "unsupported transfer syntax " + u + " (" + UNSUPPORTED.getOrDefault(u, "unknown") + ")");
    }
}
