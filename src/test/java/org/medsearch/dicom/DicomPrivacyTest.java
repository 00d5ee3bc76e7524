package org.medsearch.dicom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.MedicalImage;
import org.medsearch.image.ReadLimits;

/** No identifying value reaches metadata, messages or toString(); inspection hides them unless asked. */
class DicomPrivacyTest {

    /**
     * The identifying text values of the dataset (nested items included), as read by our parser: names,
     * IDs, dates, times, UIDs, addresses, descriptions. Private and unknown tags and numbers are left out
     * here: they are hidden too, but their values ("HEAD", "5.000000") also occur in technical tags.
     */
    static Set<String> identifyingValues(Dataset ds) {
        Set<String> out = new LinkedHashSet<>();
        for (Dataset.Element e : ds.elements()) {
            if (e.items() != null) {
                e.items().forEach(item -> out.addAll(identifyingValues(item)));
            } else if (TagDictionary.isIdentifying(e.tag(), e.vr())
                    && TagDictionary.keyword(e.tag()) != null
                    && Dataset.binarySize(Dataset.effectiveVr(e)) == 0
                    && e.fragments() == null
                    && !List.of("OB", "OW", "UN", "DS", "IS").contains(Dataset.effectiveVr(e))) {
                String v = ds.string(e.tag());
                // short numbers (a 4-digit time, say) occur inside technical numbers by chance
                if (v != null && v.strip().length() >= (v.strip().matches("[0-9.:+-]+") ? 8 : 4)) {
                    out.add(v.strip());
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("org.medsearch.dicom.DicomSamplesTest#allSamples")
    void noIdentifyingValueLeaks(Path file) throws Exception {
        byte[] b = Files.readAllBytes(file);
        DicomFile f = DicomFile.parse(b, ReadLimits.DEFAULT);
        Set<String> phi = identifyingValues(f.dataset());
        phi.addAll(identifyingValues(f.fileMeta()));
        // a value the file also stores in a technical tag (a station name equal to the manufacturer, say) is no secret
        f.inspect(true).stream()
                .filter(e -> !e.identifying())
                .forEach(e -> phi.removeIf(v -> e.value().contains(v)));
        assertFalse(phi.isEmpty());
        List<String> outputs = new ArrayList<>();
        MedicalImage img = new DicomImageReader().read(b, ReadLimits.DEFAULT);
        img.metadata().forEach((k, v) -> outputs.add(k + "=" + v));
        outputs.add(f.toString());
        outputs.add(f.dataset().toString());
        outputs.add(f.identifiers().toString());
        f.inspect(false).forEach(e -> outputs.add(e.toString()));
        // damaged copies: every message they produce
        for (int k = 1; k <= 60; k++) {
            byte[] cut = Arrays.copyOf(b, (int) ((long) b.length * k / 61));
            try {
                new DicomImageReader().read(cut, ReadLimits.DEFAULT);
            } catch (ImageFormatException e) {
                for (Throwable t = e; t != null; t = t.getCause()) {
                    outputs.add(String.valueOf(t.getMessage()));
                }
            }
        }
        for (String out : outputs) {
            for (String v : phi) {
                assertFalse(out.contains(v), () -> "identifying value leaked into: " + out);
            }
        }
    }

    @Test
    void inspectHidesUnlessAsked() throws Exception {
        byte[] file = DicomBuilder.explicitLittle()
                .str(Tags.PATIENT_NAME, "PN", "Doe^Jane")
                .str(Tags.PATIENT_ID, "LO", "MRN-123456")
                .str(Tags.PATIENT_BIRTH_DATE, "DA", "19700101")
                .str(Tags.MODALITY, "CS", "CT")
                .str(0x00091010, "LO", "private note")
                .str(Tags.STUDY_INSTANCE_UID, "UI", "1.2.3.4.5")
                .str(0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.2")
                .image(1, 1, 8, 8, false, "MONOCHROME2")
                .pixels8(0)
                .build();
        DicomFile f = DicomFile.parse(file, ReadLimits.DEFAULT);
        List<InspectEntry> hidden = f.inspect(false);
        String all = hidden.toString();
        for (String v : List.of("Doe", "MRN-123456", "19700101", "private note", "1.2.3.4.5")) {
            assertFalse(all.contains(v), v);
        }
        InspectEntry name = hidden.stream()
                .filter(e -> e.tag() == Tags.PATIENT_NAME)
                .findFirst()
                .orElseThrow();
        assertEquals("(0010,0010) PN PatientName = <hidden>", name.toString());
        assertTrue(name.identifying());
        InspectEntry modality = hidden.stream()
                .filter(e -> e.tag() == Tags.MODALITY)
                .findFirst()
                .orElseThrow();
        assertEquals("CT", modality.value());
        assertFalse(modality.identifying());
        assertEquals(
                "1.2.840.10008.5.1.4.1.1.2",
                hidden.stream()
                        .filter(e -> e.tag() == 0x00080016)
                        .findFirst()
                        .orElseThrow()
                        .value());
        assertEquals(
                "(private)",
                hidden.stream()
                        .filter(e -> e.tag() == 0x00091010)
                        .findFirst()
                        .orElseThrow()
                        .keyword());
        assertEquals(
                "1.2.840.10008.1.2.1",
                hidden.stream()
                        .filter(e -> e.tag() == Tags.TRANSFER_SYNTAX_UID)
                        .findFirst()
                        .orElseThrow()
                        .value());
        String shown = f.inspect(true).toString();
        assertTrue(shown.contains("Doe^Jane") && shown.contains("MRN-123456") && shown.contains("19700101"), shown);
        assertEquals("MRN-123456", f.identifiers().patientId());
        assertFalse(f.technicalMetadata().toString().contains("MRN"));
    }

    @Test
    void dictionary() {
        assertEquals("PatientName", TagDictionary.keyword(0x00100010));
        assertEquals("Rows", TagDictionary.keyword(Tags.ROWS));
        assertEquals("GroupLength", TagDictionary.keyword(0x00280000));
        assertEquals("US", TagDictionary.vr(Tags.ROWS));
        assertTrue(TagDictionary.isIdentifying(0x00100010, "PN"));
        assertTrue(TagDictionary.isIdentifying(0x00080050, "SH")); // AccessionNumber
        assertTrue(TagDictionary.isIdentifying(0x00080080, "LO")); // InstitutionName
        assertTrue(TagDictionary.isIdentifying(0x00081050, "PN")); // PerformingPhysicianName
        assertTrue(TagDictionary.isIdentifying(0x00290010, "LO")); // private
        assertTrue(TagDictionary.isIdentifying(0x00324000, "LT")); // free text, not in the list
        assertTrue(TagDictionary.isIdentifying(0x00080018, "UI"));
        assertFalse(TagDictionary.isIdentifying(0x00080016, "UI")); // SOPClassUID
        assertFalse(TagDictionary.isIdentifying(Tags.WINDOW_CENTER, "DS"));
        assertFalse(TagDictionary.isIdentifying(Tags.BODY_PART_EXAMINED, "CS"));
    }
}
