package org.medsearch.dicom;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.ReadLimits;

/**
 * Feeds arbitrary bytes to the DICOM reader and the lower-level API: the only failure allowed is an
 * {@link ImageFormatException} that is not a wrapped bug of ours ({@link DicomFile#INTERNAL_ERROR}), and a decoded
 * image must have its pixels in [0, 1].
 *
 * <p>Plain {@code mvn test} replays the inputs in
 * src/test/resources/org/medsearch/dicom/DicomFuzzTestInputs/read/ (small synthetic files, truncated
 * samples, and every crash found so far). To fuzz:
 * {@code mvn -B -o test -Pfuzz -Dtest=DicomFuzzTest -Djazzer.max_duration=10m}; a finding is written to
 * that folder as crash-* (or slow-unit-*), which makes it a regression input once fixed; the working
 * corpus grows in .cifuzz-corpus/ (git-ignored).
 */
class DicomFuzzTest {

    /** Small limits: the fuzzer should explore logic, not allocate gigabytes for one declared image. */
    private static final ReadLimits LIMITS =
            ReadLimits.DEFAULT.withMaxPixels(1 << 20).withMaxFileBytes(1 << 22);

    private static final DicomImageReader READER = new DicomImageReader();

    @FuzzTest(maxDuration = "2m")
    void read(byte[] data) {
        DicomFile f;
        try {
            f = DicomFile.parse(data, LIMITS);
            f.inspect(true);
            f.technicalMetadata();
            f.identifiers();
            f.fileWindow();
            f.geometry();
        } catch (ImageFormatException e) {
            check(e);
            return;
        }
        try {
            MedicalImage img = READER.read(data, LIMITS); // frame 0, windowed
            for (float v : img.pixels()) {
                if (!(v >= 0 && v <= 1)) {
                    throw new AssertionError("pixel value " + v + " outside [0, 1]");
                }
            }
            for (int i = 1; i < Math.min(3, f.frameCount()); i++) {
                f.frame(i);
            }
        } catch (ImageFormatException e) {
            check(e);
        }
    }

    private static void check(ImageFormatException e) {
        if (e.getMessage().startsWith(DicomFile.INTERNAL_ERROR)) {
            throw new AssertionError("bug behind an ImageFormatException: " + e.getMessage(), e.getCause());
        }
    }
}
