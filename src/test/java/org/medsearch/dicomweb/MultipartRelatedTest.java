package org.medsearch.dicomweb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.medsearch.util.MedsearchException;

/**
 * {@link MultipartRelated}: parts come out with their headers (names lower-cased) and their bodies
 * byte for byte, whatever bytes they hold short of the delimiter itself (CR, LF, "--", a prefix of
 * the delimiter); the preamble is ignored; a body without its boundary, a part without its header
 * block and a body without its next or closing delimiter are refused. A seeded random round trip
 * builds many bodies and checks that each part is recovered exactly.
 */
class MultipartRelatedTest {

    static final String CT = "multipart/related; type=\"application/dicom\"; boundary=";

    @Test
    void onePart() throws Exception {
        byte[] dicom = "DICM\0\1\2".getBytes(StandardCharsets.ISO_8859_1);
        byte[] body = concat(
                ascii("--b0undary\r\nContent-Type: application/dicom; transfer-syntax=1.2.840.10008.1.2.1\r\n\r\n"),
                dicom,
                ascii("\r\n--b0undary--\r\n"));
        List<MultipartRelated.Part> parts = MultipartRelated.parse(CT + "b0undary", body);
        assertEquals(1, parts.size());
        assertArrayEquals(dicom, parts.get(0).body());
        assertEquals("application/dicom", parts.get(0).mediaType());
        assertEquals(
                Map.of("content-type", "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"),
                parts.get(0).headers());
    }

    @Test
    void severalPartsInOrderWithTheirOwnHeaders() throws Exception {
        byte[] body = ascii("--sep\r\n"
                + "Content-Type: application/dicom\r\n"
                + "Content-Location: /studies/1/series/2/instances/3\r\n\r\n"
                + "first\r\n--sep\r\n"
                + "CONTENT-TYPE:Application/DICOM \r\n"
                + "X-Empty:\r\n\r\n"
                + "second\r\n"
                + "--sep\r\n"
                + "content-type: application/octet-stream\r\n\r\n"
                + "\r\n--sep--");
        List<MultipartRelated.Part> parts = MultipartRelated.parse(CT + "sep", body);
        assertEquals(3, parts.size());
        assertEquals("first", text(parts.get(0)));
        assertEquals("/studies/1/series/2/instances/3", parts.get(0).headers().get("content-location"));
        assertEquals("second", text(parts.get(1)));
        assertEquals("application/dicom", parts.get(1).mediaType());
        assertEquals("Application/DICOM", parts.get(1).headers().get("content-type"));
        assertEquals("", parts.get(1).headers().get("x-empty"));
        assertEquals("", text(parts.get(2)), "an empty body");
        assertEquals("application/octet-stream", parts.get(2).mediaType());
    }

    @Test
    void quotedBoundaryPreambleEpilogueAndPadding() throws Exception {
        String boundary = "DICOMweb:part boundary=(1)?";
        byte[] body = ascii("This is the preamble.\r\nIt has --" + "DICOMweb in it, and a line: --x\r\n"
                + "--" + boundary + " \t\r\n"
                + "Content-Type: application/dicom\r\n\r\n"
                + "payload"
                + "\r\n--" + boundary + "--  \r\nthe epilogue, ignored\r\n--" + boundary + "\r\nnot a part");
        String ct = "multipart/related;type=\"application/dicom\";BOUNDARY=\"" + boundary + "\"";
        assertEquals(boundary, MultipartRelated.boundary(ct));
        List<MultipartRelated.Part> parts = MultipartRelated.parse(ct, body);
        assertEquals(1, parts.size());
        assertEquals("payload", text(parts.get(0)));
    }

    @Test
    void readsTheBoundaryParameter() {
        assertEquals("abc", MultipartRelated.boundary("multipart/related; boundary=abc"));
        assertEquals("abc", MultipartRelated.boundary("multipart/related; boundary=abc; type=\"application/dicom\""));
        assertEquals("a=b", MultipartRelated.boundary("multipart/related; type=x; boundary=\"a=b\""));
        assertEquals("abc", MultipartRelated.boundary("multipart/related; Boundary = abc "));
        assertNull(MultipartRelated.boundary("multipart/related; type=\"application/dicom\""));
        assertNull(MultipartRelated.boundary("multipart/related; boundary="));
        assertNull(MultipartRelated.boundary("multipart/related; boundary=\"\""));
        assertNull(MultipartRelated.boundary("multipart/related; start-boundary=abc"));
        assertNull(MultipartRelated.boundary(null));
    }

    @Test
    void aPartWithoutHeaders() throws Exception {
        byte[] body = ascii("--b\r\n\r\nno headers here\r\n--b\r\n\r\n\r\nstarts with CRLF\r\n--b--");
        List<MultipartRelated.Part> parts = MultipartRelated.parse(CT + "b", body);
        assertEquals(2, parts.size());
        assertEquals("no headers here", text(parts.get(0)));
        assertTrue(parts.get(0).headers().isEmpty());
        assertEquals("", parts.get(0).mediaType());
        assertEquals("\r\nstarts with CRLF", text(parts.get(1)));
    }

    @Test
    void aPartMayOmitItsBody() throws Exception {
        // RFC 2046: body-part := MIME-part-headers [CRLF *OCTET], and the headers may be empty
        List<MultipartRelated.Part> bare = MultipartRelated.parse(CT + "b", ascii("--b\r\n\r\n--b--"));
        assertEquals(1, bare.size());
        assertEquals(0, bare.get(0).body().length);
        List<MultipartRelated.Part> headed = MultipartRelated.parse(
                CT + "b", ascii("--b\r\nContent-Type: application/dicom\r\n\r\n--b\r\n\r\nsecond\r\n--b--"));
        assertEquals(2, headed.size());
        assertEquals("application/dicom", headed.get(0).mediaType());
        assertEquals(0, headed.get(0).body().length);
        assertEquals("second", text(headed.get(1)));
    }

    @Test
    void binaryBodiesComeOutByteExact() throws Exception {
        String boundary = "3d9e1a7f-44b2";
        byte[] all = new byte[256];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        List<byte[]> bodies = List.of(
                all,
                ascii("\r\n\r\n\r\n"),
                ascii("--\r\n--\r\n----"),
                ascii("\r\n--3d9e1a7f-44b"), // the delimiter but its last byte, at the very end
                ascii("\r\n--3d9e1a7f-44b1 and \r\n--3d9e1a7f-44 and \n--3d9e1a7f-44b2 and \r--3d9e1a7f-44b2"),
                ascii("x--3d9e1a7f-44b2--\r\n"), // the delimiter without its CRLF
                ascii("\r\n-3d9e1a7f-44b2\r\n--3D9E1A7F-44B2"), // one dash short; another case
                ascii("\r"),
                ascii("\n"),
                ascii("-"),
                new byte[0],
                concat(all, all, ascii("\r\n--3d9e1a7f"), all));
        List<MultipartRelated.Part> parts = MultipartRelated.parse(CT + boundary, build(boundary, bodies, ""));
        assertEquals(bodies.size(), parts.size());
        for (int i = 0; i < bodies.size(); i++) {
            assertArrayEquals(bodies.get(i), parts.get(i).body(), "part " + i);
        }
    }

    @Test
    void aLargeBodyComesOutWhole() throws Exception {
        byte[] big = new byte[3 << 20];
        new SplittableRandom(7).nextBytes(big);
        List<MultipartRelated.Part> parts =
                MultipartRelated.parse(CT + "big", build("big", List.of(big, ascii("tail")), "preamble"));
        assertEquals(2, parts.size());
        assertArrayEquals(big, parts.get(0).body());
        assertEquals("tail", text(parts.get(1)));
    }

    @Test
    void refusesABodyWithoutItsBoundary() {
        byte[] body = build("right", List.of(ascii("x")), "");
        assertThrows(MedsearchException.class, () -> MultipartRelated.parse("multipart/related", body));
        assertThrows(MedsearchException.class, () -> MultipartRelated.parse(null, body));
        MedsearchException e = assertThrows(MedsearchException.class, () -> MultipartRelated.parse(CT + "wrong", body));
        assertTrue(e.getMessage().contains("boundary never appears"), e.getMessage());
        assertThrows(MedsearchException.class, () -> MultipartRelated.parse(CT + "right", new byte[0]));
        assertThrows(
                MedsearchException.class,
                () -> MultipartRelated.parse(CT + "right", ascii("preamble --right\r\nContent-Type: x\r\n\r\nx")),
                "a boundary that does not start a line is no delimiter");
    }

    @Test
    void refusesATruncatedBody() {
        byte[] whole = build("b", List.of(ascii("first body"), ascii("second body")), "");
        // every cut that removes the closing delimiter, short of the last byte (its optional CRLF)
        for (int cut = whole.length - 4; cut > 0; cut--) {
            byte[] truncated = new byte[cut];
            System.arraycopy(whole, 0, truncated, 0, cut);
            assertThrows(
                    MedsearchException.class,
                    () -> MultipartRelated.parse(CT + "b", truncated),
                    () -> "cut at " + truncated.length + ": "
                            + new String(truncated, StandardCharsets.ISO_8859_1).replace("\r\n", "|"));
        }
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> MultipartRelated.parse(CT + "b", ascii("--b\r\nContent-Type: application/dicom\r\n\r\nDICM")));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void refusesAPartWithoutItsHeaderBlock() {
        assertThrows(
                MedsearchException.class,
                () -> MultipartRelated.parse(CT + "b", ascii("--b\r\nContent-Type: application/dicom\r\n")));
        // the blank line that ends the first part's headers is missing: the next part's must not serve
        byte[] borrowed = ascii("--b\r\nContent-Type: text/plain\r\nbody one\r\n"
                + "--b\r\nContent-Type: application/dicom\r\n\r\nbody two\r\n--b--");
        assertThrows(MedsearchException.class, () -> MultipartRelated.parse(CT + "b", borrowed));
        assertThrows(
                MedsearchException.class,
                () -> MultipartRelated.parse(CT + "b", ascii("--bogus\r\n\r\nx\r\n--b--")),
                "no line end after the delimiter");
    }

    @Test
    void randomBodiesRoundTripExactly() throws Exception {
        long seed = Long.getLong("multipart.seed", 0x5EED_2387L);
        System.out.println("MultipartRelatedTest.randomBodiesRoundTripExactly seed=" + seed
                + " (rerun with -Dmultipart.seed=" + seed + ")");
        SplittableRandom random = new SplittableRandom(seed);
        int partsSeen = 0;
        for (int round = 0; round < 400; round++) {
            String boundary = randomBoundary(random);
            byte[] delimiter = ascii("\r\n--" + boundary);
            List<Map<String, String>> headers = new ArrayList<>();
            List<byte[]> bodies = new ArrayList<>();
            int n = 1 + random.nextInt(random.nextInt(10) == 0 ? 40 : 5);
            for (int p = 0; p < n; p++) {
                headers.add(randomHeaders(random));
                bodies.add(randomBody(random, boundary, delimiter));
            }
            String preamble = random.nextBoolean() ? "" : "preamble " + round + "\r\n\r\nwith --lines";
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(ascii(preamble.isEmpty() ? "" : preamble + "\r\n"));
            for (int p = 0; p < n; p++) {
                out.writeBytes(ascii("--" + boundary + padding(random) + "\r\n"));
                headers.get(p)
                        .forEach((k, v) -> out.writeBytes(ascii(k + ":" + (random.nextBoolean() ? " " : "") + v
                                + (random.nextInt(4) == 0 ? " " : "") + "\r\n")));
                out.writeBytes(ascii("\r\n"));
                out.writeBytes(bodies.get(p));
                out.writeBytes(ascii("\r\n"));
            }
            out.writeBytes(ascii("--" + boundary + "--"));
            if (random.nextBoolean()) {
                out.writeBytes(ascii(padding(random) + "\r\n"));
                byte[] epilogue = new byte[random.nextInt(64)];
                random.nextBytes(epilogue);
                out.writeBytes(epilogue);
            }
            byte[] body = out.toByteArray();
            boolean quoted = random.nextBoolean() || !boundary.matches("[A-Za-z0-9'+_.-]+");
            String ct = CT + (quoted ? "\"" + boundary + "\"" : boundary);
            String context = "seed " + seed + ", round " + round + ", boundary '" + boundary + "'";

            List<MultipartRelated.Part> parts = MultipartRelated.parse(ct, body);
            assertEquals(n, parts.size(), context);
            for (int p = 0; p < n; p++) {
                Map<String, String> expected = new LinkedHashMap<>();
                headers.get(p).forEach((k, v) -> expected.put(k.toLowerCase(Locale.ROOT), v));
                assertEquals(expected, parts.get(p).headers(), context + ", part " + p);
                assertArrayEquals(bodies.get(p), parts.get(p).body(), context + ", part " + p);
            }
            partsSeen += n;
        }
        assertTrue(partsSeen >= 400, "parts checked: " + partsSeen);
    }

    private static final String BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";

    private static String randomBoundary(SplittableRandom random) {
        int length = 1 + random.nextInt(random.nextBoolean() ? 8 : 70);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < length; i++) {
            // RFC 2046: a space may not end a boundary
            int bound = i == length - 1 ? BCHARS.length() - 1 : BCHARS.length();
            b.append(BCHARS.charAt(random.nextInt(bound)));
        }
        return b.toString();
    }

    private static String padding(SplittableRandom random) {
        return random.nextInt(4) == 0 ? " \t ".substring(random.nextInt(3)) : "";
    }

    private static Map<String, String> randomHeaders(SplittableRandom random) {
        Map<String, String> h = new LinkedHashMap<>();
        int n = random.nextInt(4);
        List<String> names =
                List.of("Content-Type", "Content-Location", "content-length", "X-Custom-Header", "MIME-Version");
        for (int i = 0; i < n; i++) {
            String name = names.get(random.nextInt(names.size()));
            StringBuilder v = new StringBuilder();
            int length = random.nextInt(30);
            for (int j = 0; j < length; j++) {
                v.append((char) (0x21 + random.nextInt(0x7E - 0x21 + 1))); // visible ASCII, ':' included
                if (j > 0 && j < length - 1 && random.nextInt(8) == 0) {
                    v.append(' ');
                }
            }
            h.put(name, v.toString());
        }
        return h;
    }

    /** Random bytes, rich in CR, LF, dashes and prefixes of the delimiter, but without the delimiter. */
    private static byte[] randomBody(SplittableRandom random, String boundary, byte[] delimiter) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ascii("\r\n")); // the CRLF that ends the headers: a body may not start a delimiter either
        int pieces = random.nextInt(random.nextInt(20) == 0 ? 400 : 12);
        for (int i = 0; i < pieces; i++) {
            byte[] piece = switch (random.nextInt(7)) {
                case 0 -> {
                    byte[] b = new byte[random.nextInt(random.nextInt(10) == 0 ? 20_000 : 64)];
                    random.nextBytes(b);
                    yield b;
                }
                case 1 -> ascii("\r\n");
                case 2 -> ascii(random.nextBoolean() ? "\r" : "\n");
                case 3 -> ascii("--");
                case 4 -> ascii("--" + boundary); // a delimiter only after a CRLF
                case 5 -> Arrays.copyOf(delimiter, random.nextInt(delimiter.length)); // all but its end
                default -> ascii(boundary);
            };
            int before = out.size();
            out.writeBytes(piece);
            byte[] now = out.toByteArray();
            if (MultipartRelated.indexOf(now, delimiter, Math.max(0, before - delimiter.length)) >= 0) {
                out.reset(); // this piece completed a delimiter: leave it out
                out.write(now, 0, before);
            }
        }
        byte[] withCrlf = out.toByteArray();
        return Arrays.copyOfRange(withCrlf, 2, withCrlf.length);
    }

    /** A multipart body with these parts, each with a Content-Type header. */
    static byte[] build(String boundary, List<byte[]> bodies, String preamble) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ascii(preamble.isEmpty() ? "" : preamble + "\r\n"));
        for (byte[] b : bodies) {
            out.writeBytes(ascii("--" + boundary + "\r\nContent-Type: application/dicom\r\n\r\n"));
            out.writeBytes(b);
            out.writeBytes(ascii("\r\n"));
        }
        out.writeBytes(ascii("--" + boundary + "--\r\n"));
        return out.toByteArray();
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static byte[] concat(byte[]... arrays) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] a : arrays) {
            out.writeBytes(a);
        }
        return out.toByteArray();
    }

    private static String text(MultipartRelated.Part p) {
        return new String(p.body(), StandardCharsets.ISO_8859_1);
    }
}
