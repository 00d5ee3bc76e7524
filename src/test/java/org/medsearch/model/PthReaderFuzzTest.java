package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.fail;
import static org.medsearch.model.PthReaderTest.fixture;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random damage to a good archive, seeded so that a failure repeats: the reader must return a state
 * dict or throw {@link WeightsFormatException}, never anything else (not a plain IOException either,
 * since the file itself is always readable).
 */
class PthReaderFuzzTest {

    private static final int ROUNDS = 1500;

    @TempDir
    Path tmp;

    @Test
    void damagedArchives() throws Exception {
        byte[] good = Files.readAllBytes(fixture("views.pth"));
        SplittableRandom rnd = new SplittableRandom(20240601);
        Path f = tmp.resolve("damaged.pth");
        for (int i = 0; i < ROUNDS; i++) {
            byte[] b = good.clone();
            for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
                b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
            }
            Files.write(f, b);
            readOrRefuse(f, "archive damage, round " + i);
        }
    }

    /** Damage inside data.pkl, re-zipped so that it reaches the pickle machine intact. */
    @Test
    void damagedPickles() throws Exception {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(fixture("views.pth").toFile())) {
            for (ZipEntry e : Collections.list(zip.entries())) {
                entries.put(e.getName(), zip.getInputStream(e).readAllBytes());
            }
        }
        byte[] good = entries.get("views/data.pkl");
        SplittableRandom rnd = new SplittableRandom(19500101);
        Path f = tmp.resolve("damaged.pth");
        for (int i = 0; i < ROUNDS; i++) {
            entries.put("views/data.pkl", damage(good, rnd));
            TorchZip.writeZip(f, entries);
            readOrRefuse(f, "pickle damage, round " + i);
        }
    }

    private static byte[] damage(byte[] good, SplittableRandom rnd) {
        int at = rnd.nextInt(good.length);
        switch (rnd.nextInt(4)) {
            case 0: { // overwrite a few bytes
                byte[] b = good.clone();
                for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
                    b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                }
                return b;
            }
            case 1: // cut short
                return Arrays.copyOf(good, at);
            case 2: { // repeat a slice, which repeats opcodes and their operands
                int len = 1 + rnd.nextInt(Math.min(64, good.length - at));
                byte[] b = new byte[good.length + len];
                System.arraycopy(good, 0, b, 0, at + len);
                System.arraycopy(good, at, b, at + len, good.length - at);
                return b;
            }
            default: { // drop a slice
                int len = 1 + rnd.nextInt(Math.min(64, good.length - at));
                byte[] b = new byte[good.length - len];
                System.arraycopy(good, 0, b, 0, at);
                System.arraycopy(good, at + len, b, at, good.length - at - len);
                return b;
            }
        }
    }

    private static void readOrRefuse(Path f, String what) throws IOException {
        try {
            PthReader.read(f);
        } catch (WeightsFormatException refused) {
            // the contract
        } catch (Throwable t) {
            fail(what + ": " + t, t);
        }
    }
}
