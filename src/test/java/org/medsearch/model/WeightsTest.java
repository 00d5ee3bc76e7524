package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.medsearch.model.PthReaderTest.fixture;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The format is told by content, so a file's name does not matter. */
class WeightsTest {

    @TempDir
    Path tmp;

    @Test
    void picksTheReaderByContentNotByName() throws Exception {
        Path pth = Files.copy(fixture("views.pth"), tmp.resolve("weights.safetensors"));
        Path st = Files.copy(fixture("views.safetensors"), tmp.resolve("weights.pth"));
        assertEquals(Weights.Format.PTH, Weights.detect(pth));
        assertEquals(Weights.Format.SAFETENSORS, Weights.detect(st));
        PthReaderTest.assertSameTensors(Weights.read(st), Weights.read(pth));
    }

    /** A header of 128 bytes: its length field starts with 0x80, as a pickle does. */
    @Test
    void aSafetensorsHeaderLengthThatLooksLikeAPickleIsStillSafetensors() throws Exception {
        String json = String.format("%-128s", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        ByteBuffer b = ByteBuffer.allocate(8 + 128 + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(128).put(json.getBytes(StandardCharsets.US_ASCII)).putFloat(2f);
        Path f = Files.write(tmp.resolve("w.safetensors"), b.array());
        assertEquals(Weights.Format.SAFETENSORS, Weights.detect(f));
        assertEquals(2f, Weights.read(f).get("x").toFloatArray()[0]);
    }

    @Test
    void legacyPthGoesToThePthReaderForItsAdvice() throws Exception {
        Path legacy = fixture("legacy.pth");
        assertEquals(Weights.Format.PTH, Weights.detect(legacy));
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> Weights.read(legacy));
        assertTrue(e.getMessage().contains("re-save with torch>=1.6"), e.getMessage());
    }

    @Test
    void emptyAndForeignFilesAreRefused() throws Exception {
        Path empty = Files.write(tmp.resolve("empty"), new byte[0]);
        assertTrue(assertThrows(WeightsFormatException.class, () -> Weights.read(empty))
                .getMessage()
                .contains("empty file"));
        Path text = Files.writeString(tmp.resolve("notes.pth"), "just some text");
        assertTrue(assertThrows(WeightsFormatException.class, () -> Weights.read(text))
                .getMessage()
                .contains("neither a safetensors file nor a .pth archive"));
    }
}
