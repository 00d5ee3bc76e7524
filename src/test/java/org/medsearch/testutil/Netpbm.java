package org.medsearch.testutil;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * Netpbm files (PBM, PGM, PPM, PAM) written byte by byte from given samples, so that a test knows
 * every value the reader must return; the header carries a comment, as files from real tools do.
 */
public final class Netpbm {
    private Netpbm() {}

    /**
     * A P1 to P6 file of {@code w x h}: {@code samples} holds {@code w * h} values (PBM, PGM) or
     * {@code 3 * w * h} (PPM, interleaved R, G, B), each in 0..maxval (0 or 1 for PBM, 1 = black).
     */
    public static byte[] pnm(char kind, int w, int h, int maxval, int[] samples) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean bitmap = kind == '1' || kind == '4';
        String header =
                "P" + kind + "\n# written by medsearch's tests\n" + w + " " + h + "\n" + (bitmap ? "" : maxval + "\n");
        out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
        switch (kind) {
            case '1', '2', '3' -> {
                StringBuilder text = new StringBuilder();
                for (int i = 0; i < samples.length; i++) {
                    text.append(samples[i]).append(i % 12 == 11 ? '\n' : ' ');
                }
                out.writeBytes(text.toString().getBytes(StandardCharsets.US_ASCII));
            }
            case '4' -> {
                for (int y = 0; y < h; y++) {
                    int bits = 0;
                    for (int x = 0; x < w; x++) {
                        bits |= samples[y * w + x] << (7 - x % 8);
                        if (x % 8 == 7 || x == w - 1) {
                            out.write(bits);
                            bits = 0;
                        }
                    }
                }
            }
            default -> samples(out, maxval, samples);
        }
        return out.toByteArray();
    }

    /** A P7 file: {@code depth} interleaved samples per pixel under {@code tupleType}. */
    public static byte[] pam(int w, int h, int depth, int maxval, String tupleType, int[] samples) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String header = "P7\n# written by medsearch's tests\nWIDTH " + w + "\nHEIGHT " + h + "\nDEPTH " + depth
                + "\nMAXVAL " + maxval + "\nTUPLTYPE " + tupleType + "\nENDHDR\n";
        out.writeBytes(header.getBytes(StandardCharsets.US_ASCII));
        samples(out, maxval, samples);
        return out.toByteArray();
    }

    /** {@code n} seeded values in 0..maxval, with 0 and maxval among them. */
    public static int[] randomSamples(int n, int maxval, long seed) {
        Random rnd = new Random(seed);
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextInt(maxval + 1);
        }
        v[0] = 0;
        v[n - 1] = maxval;
        return v;
    }

    private static void samples(ByteArrayOutputStream out, int maxval, int[] samples) {
        for (int v : samples) {
            if (maxval > 255) {
                out.write(v >> 8); // big-endian, as the format says
            }
            out.write(v & 0xff);
        }
    }
}
