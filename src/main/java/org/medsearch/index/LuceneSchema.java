package org.medsearch.index;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.document.BinaryDocValuesField;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.util.BytesRef;
import org.medsearch.util.Json;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Version;

/**
 * How an image is laid out in Lucene: one document per image (field names below), and the
 * index-wide facts ({@link IndexInfo} and the next id) in every commit's user data.
 */
final class LuceneSchema {
    private LuceneSchema() {}

    static final String ID = "id";
    static final String PATH = "path";
    static final String LABEL = "label";
    static final String CLASS = "class";
    static final String PREDICTED = "predicted";
    static final String CONFIDENCE = "confidence";
    static final String SHA = "sha256";
    static final String VECTOR = "vector";
    static final String SPLIT = "split";
    static final String MODALITY = "modality";
    static final String PATIENT = "patient";
    static final String STUDY = "study";
    static final String META = "meta";
    static final String MODEL = "model";

    private static final String K_FORMAT = "medsearch.format";
    private static final String K_MODEL = "medsearch.model";
    private static final String K_CLASSES = "medsearch.classes";
    private static final String K_DIMS = "medsearch.dims";
    private static final String K_CREATED_BY = "medsearch.createdBy";
    private static final String K_NEXT_ID = "medsearch.nextId";
    private static final String K_VECTORS = "medsearch.vectors";
    private static final String K_IMAGE_SIZE = "medsearch.imageSize";

    static Document document(IndexedImage img, String modelFingerprint) throws IOException {
        Document d = new Document();
        d.add(new LongPoint(ID, img.id()));
        d.add(new StoredField(ID, img.id()));
        d.add(new NumericDocValuesField(ID, img.id()));
        d.add(new StringField(PATH, img.path(), Field.Store.YES));
        d.add(new BinaryDocValuesField(PATH, new BytesRef(img.path())));
        if (img.label() != null) {
            d.add(new StringField(LABEL, img.label(), Field.Store.YES));
        }
        d.add(new StringField(CLASS, img.searchClass(), Field.Store.NO));
        d.add(new SortedDocValuesField(CLASS, new BytesRef(img.searchClass())));
        addKeyword(d, PREDICTED, img.predicted(), false);
        d.add(new StoredField(CONFIDENCE, img.confidence()));
        d.add(new StringField(SHA, img.contentHash(), Field.Store.YES));
        d.add(new BinaryDocValuesField(SHA, new BytesRef(img.contentHash())));
        d.add(new StringField(MODEL, modelFingerprint, Field.Store.YES));
        d.add(new KnnFloatVectorField(VECTOR, img.vector(), VectorSimilarityFunction.EUCLIDEAN));
        addKeyword(d, SPLIT, img.split(), true);
        addKeyword(d, MODALITY, img.modality(), true);
        if (img.patientKey() != null) {
            d.add(new StringField(PATIENT, img.patientKey(), Field.Store.YES));
            d.add(new BinaryDocValuesField(PATIENT, new BytesRef(img.patientKey())));
        }
        if (img.studyKey() != null) {
            d.add(new StringField(STUDY, img.studyKey(), Field.Store.YES));
            d.add(new BinaryDocValuesField(STUDY, new BytesRef(img.studyKey())));
        }
        if (img.metadata() != null && !img.metadata().isEmpty()) {
            d.add(new StoredField(META, Json.MAPPER.writeValueAsString(img.metadata())));
        }
        return d;
    }

    private static void addKeyword(Document d, String field, String value, boolean sorted) {
        if (value != null) {
            d.add(new StringField(field, value, Field.Store.YES));
            if (sorted) {
                d.add(new SortedDocValuesField(field, new BytesRef(value)));
            }
        }
    }

    /** The image stored in document {@code doc} (a reader-wide doc id), with the given vector. */
    static IndexedImage image(StoredFields stored, int doc, float[] vector) throws IOException {
        Document d = stored.document(doc);
        Map<String, String> meta = Map.of();
        String m = d.get(META);
        if (m != null) {
            meta = Json.MAPPER.readValue(m, new TypeReference<LinkedHashMap<String, String>>() {});
        }
        Number conf =
                d.getField(CONFIDENCE) == null ? null : d.getField(CONFIDENCE).numericValue();
        return new IndexedImage(
                d.getField(ID).numericValue().longValue(),
                d.get(PATH),
                d.get(LABEL),
                d.get(PREDICTED),
                conf == null ? Float.NaN : conf.floatValue(),
                d.get(SHA),
                vector,
                d.get(SPLIT),
                d.get(MODALITY),
                d.get(PATIENT),
                d.get(STUDY),
                meta);
    }

    /** A commit's user data: the index's facts and the next id. */
    static Map<String, String> commitData(IndexInfo info, long nextId) throws JsonProcessingException {
        Map<String, String> data = new LinkedHashMap<>();
        data.put(K_FORMAT, LuceneIndex.FORMAT);
        data.put(K_MODEL, info.modelFingerprint());
        data.put(K_CLASSES, Json.MAPPER.writeValueAsString(info.classes()));
        data.put(K_DIMS, Integer.toString(info.dimensions()));
        data.put(K_CREATED_BY, info.createdBy() == null ? Version.current() : info.createdBy());
        data.put(K_VECTORS, info.vectorFormat().key());
        data.put(K_IMAGE_SIZE, Integer.toString(info.imageSize()));
        data.put(K_NEXT_ID, Long.toString(nextId));
        return data;
    }

    static long nextId(Map<String, String> data) {
        return Long.parseLong(data.getOrDefault(K_NEXT_ID, "0"));
    }

    static IndexInfo info(Path dir, Map<String, String> data) throws MedsearchException {
        String format = data.get(K_FORMAT);
        if (format == null) {
            throw new MedsearchException(dir + " is a Lucene index, but not one medsearch wrote");
        }
        if (!LuceneIndex.FORMAT.equals(format)) {
            throw new MedsearchException(
                    dir + " has index format '" + format + "'; this medsearch reads " + LuceneIndex.FORMAT);
        }
        try {
            List<String> classes = Json.MAPPER.readValue(data.get(K_CLASSES), new TypeReference<List<String>>() {});
            VectorFormat vf = VectorFormat.parse(data.getOrDefault(K_VECTORS, "float32"));
            return new IndexInfo(
                    format,
                    data.get(K_MODEL),
                    classes,
                    Integer.parseInt(data.get(K_DIMS)),
                    data.get(K_CREATED_BY),
                    vf,
                    Integer.parseInt(data.getOrDefault(K_IMAGE_SIZE, "0")));
        } catch (JsonProcessingException | RuntimeException e) {
            throw new MedsearchException(dir + ": damaged index metadata");
        }
    }
}
