package org.medsearch.dicom;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/** Decoding of DICOM text values and making strings from a file safe to show in a message. */
final class Text {
    private Text() {}

    /** The charset of (0008,0005) SpecificCharacterSet; the default repertoire and Latin-1 both decode as ISO-8859-1. */
    static Charset charset(String specificCharacterSet) {
        if (specificCharacterSet != null && specificCharacterSet.contains("ISO_IR 192")) {
            return StandardCharsets.UTF_8;
        }
        return StandardCharsets.ISO_8859_1;
    }

    /** At most {@code max} characters with control characters replaced: fit for one line of output. */
    static String sanitize(String s, int max) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), max));
        for (int i = 0; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) ? '?' : c);
        }
        return s.length() > max ? b + "..." : b.toString();
    }

    /** {@code (gggg,eeee)}. */
    static String tag(int tag) {
        return String.format("(%04X,%04X)", tag >>> 16, tag & 0xffff);
    }
}
