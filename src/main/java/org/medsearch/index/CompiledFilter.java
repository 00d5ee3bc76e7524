package org.medsearch.index;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;

/**
 * A {@link SearchFilter} resolved against one index: names turned into ordinals and hashes, so the
 * scan tests integers; a hash match on an identifier is confirmed against the stored value, so the
 * filter is exact. The same filter as a Lucene query drives the approximate path.
 */
final class CompiledFilter {

    private static final int NONE = -2;

    final SearchFilter filter;
    /** Allowed class ordinals, or null for all. */
    final int[] classes;

    private final int modality;
    private final int[] splits;
    private final long patient;
    private final long study;
    private final long excludeSha;
    private final long excludePatient;

    CompiledFilter(SearchFilter f, SegmentData.Ordinals ords) {
        this.filter = f;
        classes = f.classes() == null
                ? null
                : f.classes().stream().mapToInt(ords::ordinal).sorted().toArray();
        modality = f.modality() == null ? NONE : ords.ordinal(f.modality());
        splits = f.splits() == null
                ? null
                : f.splits().stream().mapToInt(ords::ordinal).toArray();
        patient = f.patientKey() == null ? 0 : SegmentData.hash(f.patientKey());
        study = f.studyKey() == null ? 0 : SegmentData.hash(f.studyKey());
        excludeSha = f.excludeContentHash() == null ? 0 : SegmentData.hash(f.excludeContentHash());
        excludePatient = f.excludePatientKey() == null ? 0 : SegmentData.hash(f.excludePatientKey());
    }

    /** Whether only the class restricts the candidates (the common case: no per-document test needed). */
    boolean classOnly() {
        return modality == NONE
                && splits == null
                && patient == 0
                && study == 0
                && excludeSha == 0
                && excludePatient == 0;
    }

    /** Every condition but the class (which the scan applies by choosing class blocks). */
    boolean accept(SegmentData sd, LeafReader r, int doc) throws IOException {
        if (modality != NONE && sd.modalityOrd[doc] != modality) {
            return false;
        }
        if (splits != null && !contains(splits, sd.splitOrd[doc])) {
            return false;
        }
        if (patient != 0
                && (sd.patientHash[doc] != patient || !same(r, LuceneSchema.PATIENT, doc, filter.patientKey()))) {
            return false;
        }
        if (study != 0 && (sd.studyHash[doc] != study || !same(r, LuceneSchema.STUDY, doc, filter.studyKey()))) {
            return false;
        }
        if (excludeSha != 0
                && sd.shaHash[doc] == excludeSha
                && same(r, LuceneSchema.SHA, doc, filter.excludeContentHash())) {
            return false;
        }
        return !(excludePatient != 0
                && sd.patientHash[doc] == excludePatient
                && same(r, LuceneSchema.PATIENT, doc, filter.excludePatientKey()));
    }

    static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    private static boolean same(LeafReader r, String field, int doc, String value) throws IOException {
        BinaryDocValues dv = r.getBinaryDocValues(field);
        return dv != null
                && dv.advanceExact(doc)
                && dv.binaryValue().utf8ToString().equals(value);
    }

    /** The filter as a Lucene query (null when it lets everything through). */
    Query toQuery() {
        BooleanQuery.Builder b = new BooleanQuery.Builder();
        boolean positive = false;
        boolean any = false;
        if (filter.classes() != null) {
            b.add(anyOf(LuceneSchema.CLASS, new ArrayList<>(filter.classes())), BooleanClause.Occur.FILTER);
            positive = true;
        }
        if (filter.modality() != null) {
            b.add(new TermQuery(new Term(LuceneSchema.MODALITY, filter.modality())), BooleanClause.Occur.FILTER);
            positive = true;
        }
        if (filter.splits() != null) {
            b.add(anyOf(LuceneSchema.SPLIT, new ArrayList<>(filter.splits())), BooleanClause.Occur.FILTER);
            positive = true;
        }
        if (filter.patientKey() != null) {
            b.add(new TermQuery(new Term(LuceneSchema.PATIENT, filter.patientKey())), BooleanClause.Occur.FILTER);
            positive = true;
        }
        if (filter.studyKey() != null) {
            b.add(new TermQuery(new Term(LuceneSchema.STUDY, filter.studyKey())), BooleanClause.Occur.FILTER);
            positive = true;
        }
        if (filter.excludeContentHash() != null) {
            b.add(new TermQuery(new Term(LuceneSchema.SHA, filter.excludeContentHash())), BooleanClause.Occur.MUST_NOT);
            any = true;
        }
        if (filter.excludePatientKey() != null) {
            b.add(
                    new TermQuery(new Term(LuceneSchema.PATIENT, filter.excludePatientKey())),
                    BooleanClause.Occur.MUST_NOT);
            any = true;
        }
        if (!positive && !any) {
            return null;
        }
        if (!positive) {
            b.add(new MatchAllDocsQuery(), BooleanClause.Occur.FILTER);
        }
        return b.build();
    }

    private static Query anyOf(String field, List<String> values) {
        if (values.size() == 1) {
            return new TermQuery(new Term(field, values.get(0)));
        }
        BooleanQuery.Builder b = new BooleanQuery.Builder();
        for (String v : values) {
            b.add(new TermQuery(new Term(field, v)), BooleanClause.Occur.SHOULD);
        }
        return b.build();
    }
}
