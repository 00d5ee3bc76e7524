package org.medsearch.dicom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.ReadLimits;
import org.medsearch.testutil.Shared;

/**
 * Every sample under shared/samples/dicom decodes, and its stored values match a reference decoder.
 *
 * <p>How the references were made (dcmtk 3.6.7, gdcm 3.0, pydicom 2.3.1 from Debian 12): each file
 * was decompressed with a reference tool where pydicom has no codec, then
 * {@code a = pydicom.dcmread(f).pixel_array} gave the stored values and the reference is
 * {@code hashlib.sha256(a.astype('<i4').tobytes()).hexdigest()}, plus
 * {@code a.reshape(-1)[[0, n//3, n//2, n-1]]} as probe values. Decompression commands:
 * <ul>
 * <li>jpeg_ls.dcm: {@code dcmdjpls jpeg_ls.dcm out.dcm} (gdcmconv --raw gives the same values)</li>
 * <li>jpeg_lossless_sel1.dcm, jpeg_baseline_8bit.dcm: {@code dcmdjpeg IN out.dcm} (gdcmconv --raw agrees)</li>
 * <li>rle.dcm, US-PAL-8-10x-echo.dcm: {@code dcmdrle IN out.dcm}</li>
 * <li>jpeg_2000.dcm: {@code gdcmconv --raw jpeg_2000.dcm out.dcm} (OpenJPEG; pydicom with Pillow agrees)</li>
 * <li>the uncompressed files: read directly.</li>
 * </ul>
 */
class DicomSamplesTest {

    record Ref(String file, String sha256, int[] probes) {
        @Override
        public String toString() {
            return file;
        }
    }

    static final List<Ref> EXACT = List.of(
            new Ref(
                    "CT-MONO2-16-ankle.dcm",
                    "104075c140916b6ca14a202555ac9b4e66dd8659dae7a6fc14c170be15b868a6",
                    new int[] {4080, 128, 4080, 4080}),
            new Ref("CT_small.dcm", "df61a60dfc368c1da244f035ce15d34d67c2254d5c4ec039bc09e939ac413ce1", new int[] {
                175, 1040, 956, 909
            }),
            new Ref("MR_small.dcm", "b8d9a6cee6ff2ea9edbe8b476e54b80cfab8c6a15aff4d431b6c38840a20f7df", new int[] {
                905, 446, 482, 862
            }),
            new Ref(
                    "US-PAL-8-10x-echo.dcm",
                    "acf91cb82b43d8a9c98722bcda714457c4c567bf943f0f8a34083bc0d978ae49",
                    new int[] {127, 192, 127, 126}),
            new Ref(
                    "dicom3tools-0051.dcm",
                    "2db236b1bd753bf1db3ca9e4be78c76fa78bf940e8244993ee8daa17e7835faa",
                    new int[] {0, 0, 0, 0}),
            new Ref("nibabel-0.dcm", "27881f9ef70e201dcc5a7a93da4a29336e812cdf97a6e994ad24871a88cc5c54", new int[] {
                0, 1365, 0, 4095
            }),
            new Ref(
                    "transfer-syntaxes/deflated.dcm",
                    "3ae25f749a71a0f30203397e76a96bee083557a1ff96a0efaa5332ce3a8563a6",
                    new int[] {213, 184, 138, 188}),
            new Ref(
                    "transfer-syntaxes/explicit_big.dcm",
                    "aa3730eca9a7c710666d9542bd8188af879ba34ea2ef74bf2cf95204f4d58aa0",
                    new int[] {0, 463, 0, 0}),
            new Ref(
                    "transfer-syntaxes/explicit_little.dcm",
                    "05bce02a82c1c4cce71880dc009556ef1c997be825bbf6a48bf7e9810372cd72",
                    new int[] {0, 144, 0, 0}),
            new Ref(
                    "transfer-syntaxes/implicit_little.dcm",
                    "6e5bf148ac765beefff67484783d6ade72d4ce50824804329c43694d554def06",
                    new int[] {0, 134, 11, 0}),
            new Ref(
                    "transfer-syntaxes/jpeg_baseline_8bit.dcm",
                    "da90c7903e99d39516f34fd7b63cf7afc0442dd108dad8d9271beadd50ca04e2",
                    new int[] {0, 0, 0, 0}),
            new Ref(
                    "transfer-syntaxes/jpeg_lossless_sel1.dcm",
                    "fd7a92cd66f49599bc5871dcade40eeea65277eba25df992dd6691b1fbc90ac9",
                    new int[] {-89, 48, -88, -2}),
            new Ref(
                    "transfer-syntaxes/jpeg_ls.dcm",
                    "7ebe1c892a765e3f60eae1191c89f2846f39a15269fac247d3cdf1e5ceab97d5",
                    new int[] {0, 287, 0, 0}),
            new Ref(
                    "transfer-syntaxes/rle.dcm",
                    "824141bed775b72b8c85c7a7d20073ba60314b4df4067746316120574db42594",
                    new int[] {-2000, 164, 1007, -2000}),
            new Ref(
                    "transfer-syntaxes/volume/brain_001.dcm",
                    "4107c853f6af3afd777c497025509f273c11b85803dc1f695b129a55e3110997",
                    new int[] {0, 314, 0, 0}),
            new Ref(
                    "transfer-syntaxes/volume/brain_020.dcm",
                    "27f9f1851b994d1474df5d43add3a6b7cf1e8ef28b58116fb98cd8765ec0bb35",
                    new int[] {0, 547, 0, 0}));

    static Stream<Path> allSamples() throws IOException {
        Path root = Shared.require("samples/dicom");
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.toString().endsWith(".dcm")).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("allSamples")
    void everySampleDecodesThroughTheStandardReaders(Path file) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        ImageReaders readers = ImageReaders.standard();
        assertEquals(
                "dicom", readers.readerFor(java.util.Arrays.copyOf(bytes, 512)).name());
        MedicalImage img = readers.read(bytes);
        for (float v : img.pixels()) {
            assertTrue(v >= 0 && v <= 1, "pixel outside [0, 1]: " + v);
        }
        assertEquals("dicom", img.metadata().get("format"));
        assertTrue(img.metadata().containsKey("window"));
    }

    @ParameterizedTest
    @MethodSource("exact")
    void storedValuesMatchTheReferenceDecoder(Ref ref) throws Exception {
        DicomFile f =
                DicomFile.parse(Files.readAllBytes(Shared.require("samples/dicom/" + ref.file)), ReadLimits.DEFAULT);
        int[] all = allFrames(f);
        assertEquals(ref.sha256, sha256(all), ref.file);
        int n = all.length;
        assertArrayEquals(ref.probes, new int[] {all[0], all[n / 3], all[n / 2], all[n - 1]});
    }

    static Stream<Ref> exact() {
        return EXACT.stream();
    }

    static int[] allFrames(DicomFile f) throws Exception {
        int per = f.rows() * f.columns() * f.pixelModule().samples();
        int[] all = new int[per * f.frameCount()];
        for (int i = 0; i < f.frameCount(); i++) {
            System.arraycopy(f.storedFrame(i), 0, all, i * per, per);
        }
        return all;
    }

    static String sha256(int[] values) throws NoSuchAlgorithmException {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
    }

    /** explicit_big.dcm and volume/brain_013.dcm (explicit little endian) hold the same slice: dcmdump shows equal pixel data. */
    @Test
    void bigEndianMatchesItsLittleEndianTwin() throws Exception {
        DicomFile big = DicomFile.parse(
                Files.readAllBytes(Shared.require("samples/dicom/transfer-syntaxes/explicit_big.dcm")),
                ReadLimits.DEFAULT);
        DicomFile little = DicomFile.parse(
                Files.readAllBytes(Shared.require("samples/dicom/transfer-syntaxes/volume/brain_013.dcm")),
                ReadLimits.DEFAULT);
        assertTrue(big.transferSyntax().orElseThrow().bigEndian());
        assertFalse(little.transferSyntax().orElseThrow().bigEndian());
        assertArrayEquals(little.storedFrame(0), big.storedFrame(0));
        assertArrayEquals(little.frame(0), big.frame(0));
    }
}
