package org.medsearch.index;

import java.util.Set;

/**
 * Which indexed images may be returned. Every condition that is set must hold; {@link #ALL} sets none.
 *
 * <pre>{@code
 * SearchFilter f = SearchFilter.ALL.withClasses(Set.of("HeadCT")).withModality("CT");
 * }</pre>
 *
 * @param classes allowed search classes (label, else prediction), or null for any
 * @param modality required modality, or null
 * @param splits allowed splits, or null for any
 * @param patientKey required (salted) patient key, or null
 * @param studyKey required (salted) study key, or null
 * @param excludeContentHash leave out images with these bytes (the query itself), or null
 * @param excludePatientKey leave out this (salted) patient's images, or null
 */
public record SearchFilter(
        Set<String> classes,
        String modality,
        Set<String> splits,
        String patientKey,
        String studyKey,
        String excludeContentHash,
        String excludePatientKey) {

    public static final SearchFilter ALL = new SearchFilter(null, null, null, null, null, null, null);

    public SearchFilter withClasses(Set<String> c) {
        return new SearchFilter(c, modality, splits, patientKey, studyKey, excludeContentHash, excludePatientKey);
    }

    public SearchFilter withModality(String m) {
        return new SearchFilter(classes, m, splits, patientKey, studyKey, excludeContentHash, excludePatientKey);
    }

    public SearchFilter withSplits(Set<String> s) {
        return new SearchFilter(classes, modality, s, patientKey, studyKey, excludeContentHash, excludePatientKey);
    }

    public SearchFilter withPatient(String key) {
        return new SearchFilter(classes, modality, splits, key, studyKey, excludeContentHash, excludePatientKey);
    }

    public SearchFilter withStudy(String key) {
        return new SearchFilter(classes, modality, splits, patientKey, key, excludeContentHash, excludePatientKey);
    }

    public SearchFilter excludingContent(String sha256) {
        return new SearchFilter(classes, modality, splits, patientKey, studyKey, sha256, excludePatientKey);
    }

    public SearchFilter excludingPatient(String key) {
        return new SearchFilter(classes, modality, splits, patientKey, studyKey, excludeContentHash, key);
    }
}
