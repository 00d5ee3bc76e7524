package org.medsearch.volume;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ReadLimits;

/** Hostile and damaged input: every case is an {@link ImageFormatException}, quickly, without large allocations. */
class NiftiRobustnessTest {

    /** Small limits keep the mutation loop fast; the specific tests use the defaults where it matters. */
    private static final ReadLimits SMALL = new ReadLimits(1 << 20, 1 << 16);

    private static List<byte[]> seeds() {
        double[] values = new double[4 * 3 * 2];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 11 - 40;
        }
        double s = Math.sqrt(0.5);
        return List.of(
                new NiftiFiles().datatype(4).dims(4, 3, 2).values(values).build(),
                new NiftiFiles()
                        .datatype(4)
                        .dims(4, 3, 2)
                        .values(values)
                        .gzip(true)
                        .build(),
                new NiftiFiles()
                        .version(2)
                        .order(ByteOrder.BIG_ENDIAN)
                        .datatype(16)
                        .dims(4, 3, 2)
                        .values(values)
                        .qform(1, 0, 0, s, 1, 2, 3)
                        .pixdim(-1, 2, 2, 3)
                        .build(),
                new NiftiFiles()
                        .version(2)
                        .datatype(64)
                        .dims(4, 3, 2)
                        .values(values)
                        .scaling(2, 1)
                        .gzip(true)
                        .sform(1, new double[][] {{0, 1, 0, 0}, {0, 0, -1, 0}, {1, 0, 0, 0}})
                        .build());
    }

    @Test
    void zeroByteFile(@TempDir Path dir) throws Exception {
        Path f = Files.createFile(dir.resolve("empty.nii"));
        assertRefused(() -> NiftiReader.read(f), "empty");
        assertRefused(() -> NiftiReader.read(new byte[0], "", ReadLimits.DEFAULT), "empty");
    }

    @Test
    void everyTruncationIsRefused() {
        for (byte[] seed : seeds()) {
            for (int n = 1; n < seed.length; n++) {
                byte[] cut = Arrays.copyOf(seed, n);
                assertNull(NiftiFiles.readOrRefuse(cut, ReadLimits.DEFAULT), "cut at " + n + " of " + seed.length);
            }
            assertNotNull(NiftiFiles.readOrRefuse(seed, ReadLimits.DEFAULT));
        }
    }

    @Test
    void hostileDimsAreRefusedBeforeAnyAllocation() {
        long[][] dims = {
            {3, 32767, 32767, 32767, 1, 1, 1, 1},
            {3, -1, 2, 2, 1, 1, 1, 1},
            {3, 2, 0, 2, 1, 1, 1, 1},
            {4, 2, 2, 2, -5, 1, 1, 1},
            {-3, 2, 2, 2, 1, 1, 1, 1},
            {3, 16384, 16384, 1, 1, 1, 1, 1},
        };
        for (long[] d : dims) {
            assertNull(
                    NiftiFiles.readOrRefuse(new NiftiFiles().rawDim(d).build(), ReadLimits.DEFAULT),
                    Arrays.toString(d));
        }
        long[][] dims2 = {
            {3, 1L << 40, 1L << 40, 1L << 40, 1, 1, 1, 1},
            {3, Long.MAX_VALUE, 2, 2, 1, 1, 1, 1},
            {3, 3037000500L, 3037000500L, 2, 1, 1, 1, 1},
            {4, 2, 2, 2, Long.MIN_VALUE, 1, 1, 1},
        };
        for (long[] d : dims2) {
            assertNull(
                    NiftiFiles.readOrRefuse(
                            new NiftiFiles().version(2).rawDim(d).build(), ReadLimits.DEFAULT),
                    Arrays.toString(d));
        }
        // in bounds for the pixel limit, but the data cannot fit a 1 GiB file
        assertRefused(
                () -> NiftiReader.read(
                        new NiftiFiles()
                                .version(2)
                                .datatype(64)
                                .rawDim(3, 1024, 1024, 200, 1, 1, 1, 1)
                                .build(),
                        "",
                        ReadLimits.DEFAULT),
                "exceeds the limit");
        // in bounds, but the file holds only the header
        assertRefused(
                () -> NiftiReader.read(
                        new NiftiFiles()
                                .rawDim(3, 512, 512, 512, 1, 1, 1, 1)
                                .values()
                                .build(),
                        "",
                        ReadLimits.DEFAULT),
                "truncated");
    }

    @ParameterizedTest
    @ValueSource(doubles = {-352, 100, 347, 352.5, Double.NaN, Double.POSITIVE_INFINITY, 1e30, 5e8, 1e12})
    void badVoxOffsetIsRefused(double offset) {
        assertNull(NiftiFiles.readOrRefuse(new NiftiFiles().voxOffset(offset).build(), ReadLimits.DEFAULT));
        assertNull(NiftiFiles.readOrRefuse(
                new NiftiFiles().voxOffset(offset).gzip(true).build(), ReadLimits.DEFAULT));
        if (!Double.isNaN(offset) && offset != 352.5) {
            assertNull(NiftiFiles.readOrRefuse(
                    new NiftiFiles().version(2).voxOffset(offset).build(), ReadLimits.DEFAULT));
        }
    }

    @Test
    void gzipBombIsRefusedWithoutInflatingIntoMemory() throws Exception {
        // a valid 2x2x2 volume followed by 64 MiB of zeros: 64 KiB compressed, 1000:1
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(bytes)) {
            z.write(new NiftiFiles().build());
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++) {
                z.write(zeros);
            }
        }
        byte[] bomb = bytes.toByteArray();
        assertTrue(bomb.length < 100_000, "bomb is " + bomb.length + " bytes");
        ReadLimits limits = ReadLimits.DEFAULT.withMaxFileBytes(16 << 20);
        assertTimeoutPreemptively(
                Duration.ofSeconds(10),
                () -> assertRefused(() -> NiftiReader.read(bomb, "", limits), "decompresses to more than"));

        // a header promising 1 GiB of voxels in 1 MiB of gzip is refused before inflating the data
        byte[] promise = new NiftiFiles()
                .rawDim(3, 1024, 1024, 1024, 1, 1, 1, 1)
                .datatype(2)
                .values()
                .gzip(true)
                .build();
        assertRefused(() -> NiftiReader.read(promise, "", ReadLimits.DEFAULT), "exceeds the limit");
    }

    @Test
    void damagedGzipIsRefused() {
        byte[] gz = new NiftiFiles().gzip(true).values(new double[8]).build();
        byte[] crc = gz.clone();
        crc[crc.length - 6] ^= 0x55; // inside the CRC-32 of the trailer
        assertRefused(() -> NiftiReader.read(crc, "", ReadLimits.DEFAULT), "gzip");
        byte[] notGzip = {0x1f, (byte) 0x8b, 1, 2, 3};
        assertRefused(() -> NiftiReader.read(notGzip, "", ReadLimits.DEFAULT), "gzip");
    }

    @Test
    void fileLargerThanTheLimitIsRefused() {
        byte[] f = new NiftiFiles().build();
        assertRefused(() -> NiftiReader.read(f, "", ReadLimits.DEFAULT.withMaxFileBytes(100)), "exceeds the limit");
    }

    /** Random byte edits, cuts and splices of valid files, from fixed seeds: read or refuse, never anything else. */
    @Test
    void randomMutationsKeepTheContract() {
        List<byte[]> seeds = seeds();
        int[] interesting = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 348, 540, 352, 544};
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (long seed = 1; seed <= 4000; seed++) {
                SplittableRandom r = new SplittableRandom(seed);
                byte[] b = seeds.get(r.nextInt(seeds.size())).clone();
                boolean gz = (b[0] & 0xff) == 0x1f;
                if (gz && r.nextBoolean()) {
                    // mutate the decompressed file, then compress again, so the damage reaches the parser
                    b = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(b)).readAllBytes();
                    mutate(b, r, interesting);
                    b = NiftiFiles.gzip(b);
                } else {
                    mutate(b, r, interesting);
                }
                if (r.nextInt(8) == 0) {
                    b = Arrays.copyOf(b, r.nextInt(b.length + 64));
                }
                Volume v = NiftiFiles.readOrRefuse(b, SMALL);
                if (v != null) {
                    SliceSelector.selectMiddle(v, Plane.values()[r.nextInt(3)], 3);
                }
            }
        });
    }

    private static void mutate(byte[] b, SplittableRandom r, int[] interesting) {
        int edits = 1 + r.nextInt(6);
        for (int e = 0; e < edits; e++) {
            // header bytes are where the decisions are: aim there most of the time
            int at = r.nextInt(4) == 0 ? r.nextInt(b.length) : r.nextInt(Math.min(b.length, 548));
            switch (r.nextInt(3)) {
                case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
                case 1 -> b[at] = (byte) r.nextInt(256);
                default -> {
                    int v = interesting[r.nextInt(interesting.length)];
                    b[at] = (byte) v;
                    if (at + 1 < b.length) {
                        b[at + 1] = (byte) (v >> 8);
                    }
                }
            }
        }
    }

    private static void assertRefused(org.junit.jupiter.api.function.Executable read, String part) {
        ImageFormatException e = assertThrows(ImageFormatException.class, read);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
