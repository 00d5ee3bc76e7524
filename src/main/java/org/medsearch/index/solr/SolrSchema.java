package org.medsearch.index.solr;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.VectorFormat;
import org.medsearch.util.Json;
import org.medsearch.util.MedsearchException;

/**
 * How an image is laid out in Solr: the same fields as the embedded index (see the configset's
 * {@code schema.xml}), with the source path as the unique key, and one {@code meta} document per
 * collection for the index's facts, the id counter and the patient-key salt.
 */
final class SolrSchema {
    private SolrSchema() {}

    /** Bumped when the configset changes incompatibly; part of the configset's name. */
    static final int CONFIGSET_VERSION = 2;

    static final String PATH = "path";
    static final String KIND = "kind";
    static final String ID = "id";
    static final String LABEL = "label";
    static final String CLASS = "class";
    static final String PREDICTED = "predicted";
    static final String CONFIDENCE = "confidence";
    static final String SHA = "sha256";
    static final String SPLIT = "split";
    static final String MODALITY = "modality";
    static final String PATIENT = "patient";
    static final String STUDY = "study";
    static final String WINDOW = "window";
    static final String MODEL = "model";
    static final String META = "meta";
    static final String VECTOR = "vector";
    /** The vector's float32 values, little-endian, as one stored blob: what hits read. */
    static final String VECTOR_BYTES = "vector_bytes";

    static final String INFO = "info";
    static final String NEXT_ID = "next_id";
    /** A check value of the patient-key salt (never the salt), so that writers with another salt are refused. */
    static final String SALT = "salt";

    static final String VERSION = "_version_";

    static final String IMAGE_KIND = "image";
    static final String META_KIND = "meta";
    /** The meta document's unique key: not a path any image can have (images are stored by absolute path). */
    static final String META_KEY = "medsearch:meta";

    /** Stored fields a hit needs, the vector included. */
    static final String IMAGE_FIELDS = String.join(
            ",", ID, PATH, LABEL, PREDICTED, CONFIDENCE, SHA, SPLIT, MODALITY, PATIENT, STUDY, META, VECTOR_BYTES);

    static String configsetName(int dimensions) {
        return "medsearch-v" + CONFIGSET_VERSION + "-d" + dimensions;
    }

    /** The configset for vectors of {@code dimensions}, as the zip Solr's ConfigSets API takes. */
    static byte[] configsetZip(int dimensions) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (String name : List.of("schema.xml", "solrconfig.xml")) {
                String text = resource(name)
                        .replace("@DIMENSIONS@", Integer.toString(dimensions))
                        .replace("@VERSION@", Integer.toString(CONFIGSET_VERSION));
                zip.putNextEntry(new ZipEntry(name));
                zip.write(text.getBytes(StandardCharsets.UTF_8));
                zip.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = SolrSchema.class.getResourceAsStream("configset/" + name)) {
            if (in == null) {
                throw new IOException("configset file missing from the jar: " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static SolrInputDocument document(IndexedImage img, String modelFingerprint) throws JsonProcessingException {
        SolrInputDocument d = new SolrInputDocument();
        d.setField(PATH, img.path());
        d.setField(KIND, IMAGE_KIND);
        d.setField(ID, img.id());
        set(d, LABEL, img.label());
        d.setField(CLASS, img.searchClass());
        set(d, PREDICTED, img.predicted());
        d.setField(CONFIDENCE, img.confidence());
        d.setField(SHA, img.contentHash());
        set(d, SPLIT, img.split());
        set(d, MODALITY, img.modality());
        set(d, PATIENT, img.patientKey());
        set(d, STUDY, img.studyKey());
        d.setField(MODEL, modelFingerprint);
        if (img.metadata() != null && !img.metadata().isEmpty()) {
            d.setField(META, Json.MAPPER.writeValueAsString(img.metadata()));
            set(d, WINDOW, img.metadata().get("window"));
        }
        List<Float> v = new ArrayList<>(img.vector().length);
        for (float x : img.vector()) {
            v.add(x);
        }
        d.setField(VECTOR, v);
        java.nio.ByteBuffer b =
                java.nio.ByteBuffer.allocate(4 * img.vector().length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(img.vector());
        d.setField(VECTOR_BYTES, b.array());
        return d;
    }

    private static void set(SolrInputDocument d, String field, String value) {
        if (value != null) {
            d.setField(field, value);
        }
    }

    static IndexedImage image(SolrDocument d) throws IOException {
        Map<String, String> meta = Map.of();
        Object m = d.getFirstValue(META);
        if (m != null) {
            meta = Json.MAPPER.readValue(m.toString(), new TypeReference<LinkedHashMap<String, String>>() {});
        }
        Object conf = d.getFirstValue(CONFIDENCE);
        return new IndexedImage(
                ((Number) d.getFirstValue(ID)).longValue(),
                str(d, PATH),
                str(d, LABEL),
                str(d, PREDICTED),
                conf == null ? Float.NaN : ((Number) conf).floatValue(),
                str(d, SHA),
                vector(d),
                str(d, SPLIT),
                str(d, MODALITY),
                str(d, PATIENT),
                str(d, STUDY),
                meta);
    }

    static String str(SolrDocument d, String field) {
        Object v = d.getFirstValue(field);
        return v == null ? null : v.toString();
    }

    /** The stored vector, exactly as sent. */
    static float[] vector(SolrDocument d) {
        Object o = d.getFirstValue(VECTOR_BYTES);
        java.nio.ByteBuffer b;
        if (o instanceof byte[] a) {
            b = java.nio.ByteBuffer.wrap(a);
        } else if (o instanceof java.nio.ByteBuffer bb) {
            b = bb.duplicate();
        } else if (o instanceof String base64) {
            b = java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(base64));
        } else {
            throw new IllegalStateException("image " + d.getFirstValue(PATH)
                    + " has no stored vector: the collection is damaged (medsearch index --check)");
        }
        float[] v = new float[b.remaining() / 4];
        b.order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }

    /** The meta document of a new collection. */
    static SolrInputDocument metaDocument(IndexInfo info, long nextId) throws JsonProcessingException {
        SolrInputDocument d = new SolrInputDocument();
        d.setField(PATH, META_KEY);
        d.setField(KIND, META_KIND);
        d.setField(INFO, Json.MAPPER.writeValueAsString(info));
        d.setField(NEXT_ID, nextId);
        d.setField(MODEL, info.modelFingerprint());
        return d;
    }

    static IndexInfo info(SolrDocument meta, String where) throws MedsearchException {
        try {
            IndexInfo info = Json.MAPPER.readValue(str(meta, INFO), IndexInfo.class);
            if (info.vectorFormat() != VectorFormat.FLOAT32 || info.dimensions() < 1) {
                throw new MedsearchException(where + ": unsupported index metadata");
            }
            return info;
        } catch (JsonProcessingException | RuntimeException e) {
            throw new MedsearchException(where + ": damaged index metadata (the 'meta' document)");
        }
    }
}
