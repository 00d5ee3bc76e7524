package org.medsearch.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.medsearch.dataset.PatientKeys;
import org.medsearch.image.ImageFormatException;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.MedicalImage;
import org.medsearch.index.SearchFilter;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.InferenceRuntime;
import org.medsearch.search.ContactSheet;
import org.medsearch.search.Scope;
import org.medsearch.search.SearchAnswer;
import org.medsearch.search.SearchRequest;
import org.medsearch.search.SearchResult;
import org.medsearch.service.IndexLocation;
import org.medsearch.service.Models;
import org.medsearch.service.SearchService;
import org.medsearch.service.Stores;
import org.medsearch.util.MedsearchException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code medsearch search}: the k most similar indexed images for each query image. */
@Command(
        name = "search",
        mixinStandardHelpOptions = true,
        description = {
            "Classify each query image and list the k most similar indexed images.",
            "Distances are mean squared errors between 512-d feature vectors; ties are broken by id."
        })
final class SearchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--model",
            required = true,
            paramLabel = "MODEL",
            description = "The model the index was built with (a bundle, or 'imagenet').")
    Path model;

    @Option(
            converter = Converters.Index.class,
            names = "--index",
            required = true,
            paramLabel = "INDEX",
            description = "An index from 'medsearch index'.")
    IndexLocation index;

    @Option(names = "--k", description = "Results per query (default ${DEFAULT-VALUE}).")
    int k = SearchRequest.DEFAULT_K;

    @Option(
            names = "--scope",
            paramLabel = "predicted|all|auto|top:N",
            converter = Converters.Scopes.class,
            description = "Compare with the images of the predicted class (the paper), of all classes, of the"
                    + " N most probable classes (top:N), or auto: the predicted class when its probability"
                    + " reaches the model's calibrated threshold, else all (default: auto when the model has"
                    + " a threshold, else predicted).")
    Scope scope;

    @Option(
            names = "--filter",
            paramLabel = "KEY=VALUE",
            description = "Extra condition: modality=CT, split=train, class=X, patient=ID, study=UID"
                    + " (patient and study ids are matched through the index's salted keys).")
    Map<String, String> filters;

    @Option(names = "--exclude-patient", paramLabel = "ID", description = "Leave out this patient's images.")
    String excludePatient;

    @Option(names = "--exact", description = "Always scan every candidate (no approximate graph search).")
    boolean exact;

    @picocli.CommandLine.Mixin
    RuntimeOption runtime;

    @picocli.CommandLine.Mixin
    FetchOption fetch;

    @Option(names = "--sheet", paramLabel = "PNG", description = "Also write a contact sheet of queries and results.")
    Path sheet;

    @Option(
            names = "--region",
            paramLabel = "X,Y,W,H",
            converter = Converters.Regions.class,
            description = "Search with this part of each query image only: a box in the image's pixels (left, top,"
                    + " width, height), cropped, then pre-processed as any image.")
    org.medsearch.image.Region region;

    @Option(
            names = "--relevant",
            paramLabel = "IDS",
            description = "Relevance feedback: ids of earlier hits that are relevant (comma-separated); the query"
                    + " moves toward them (Rocchio, see --rocchio) and the scope widens to their classes.")
    String relevant;

    @Option(
            names = "--irrelevant",
            paramLabel = "IDS",
            description = "Relevance feedback: ids of earlier hits that are not relevant; the query moves away from"
                    + " them (Rocchio, see --rocchio).")
    String irrelevant;

    @Option(
            names = "--rocchio",
            paramLabel = "A,B,G",
            defaultValue = "1,0.75,0.15",
            description = "Rocchio's weights for --relevant/--irrelevant: the query moves to (A q + B mean(relevant)"
                    + " - G mean(not relevant)) / (A + B - G), a group with no mark left out; A > G"
                    + " (default ${DEFAULT-VALUE}).")
    String rocchio;

    @Option(
            names = "--explain",
            paramLabel = "DIR",
            description = "Also write, for each query and hit, both images with their similarity map over them"
                    + " (where the distance comes from, cell by cell of the feature grid) into DIR, as"
                    + " QUERY-RANK-query.png and QUERY-RANK-hit.png.")
    Path explain;

    @Option(
            names = "--json",
            description = "Print each answer as one line of JSON, in the shape of the API's search "
                    + "answer (schema 'Search' in /api/openapi.json), plus the query's file name.")
    boolean json;

    @Parameters(arity = "0..*", paramLabel = "QUERY_IMAGE", description = "Query images.")
    List<Path> queries;

    @Option(
            names = "--from",
            paramLabel = "dicomweb://HOST:PORT/PATH",
            description = "A PACS's DICOMweb service to take the query images from (with --instance).")
    String from;

    @Option(
            names = "--instance",
            paramLabel = "UID",
            description = "With --from: the SOP Instance UID of a query image in the PACS (repeatable).")
    List<String> instances;

    @picocli.CommandLine.Mixin
    PacsOptions pacs;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        PrintWriter err = Output.err(spec);
        int graphFetch = fetch.value();
        InferenceRuntime chosen = runtime.value();
        // options first: a bad --k is refused before the index is opened
        Output.fromOptions("--k", () -> new SearchRequest(k, scope, SearchFilter.ALL, VectorStore.SearchMode.AUTO));
        if ((from == null) != (instances == null || instances.isEmpty())) {
            throw new MedsearchException("--from and --instance go together");
        }
        if (from == null && (queries == null || queries.isEmpty())) {
            throw new MedsearchException("give query images, or --from dicomweb://... --instance UID");
        }
        List<Query> all = new ArrayList<>();
        if (queries != null) {
            queries.forEach(q -> all.add(new Query(q.getFileName().toString(), q, r -> r.read(q))));
        }
        org.medsearch.dicomweb.DicomWebClient client = null;
        if (from != null) {
            client = pacs.client(org.medsearch.dicomweb.DicomWebLocation.parse(from));
            client.probe();
            for (String uid : instances) {
                org.medsearch.dicomweb.DicomWebClient c = client;
                all.add(new Query(uid, null, r -> org.medsearch.service.PacsQuery.read(c, uid, r)));
            }
        }
        int status = 0;
        try (VectorStore idx = Stores.open(index, false, graphFetch);
                EmbeddingBackend backend = Models.openFor(model, idx, chosen, Output.progress(false))) {
            SearchFilter filter = filter(idx);
            SearchRequest request = new SearchRequest(
                    k, scope, filter, exact ? VectorStore.SearchMode.EXACT : VectorStore.SearchMode.AUTO, feedback());
            SearchService retriever = new SearchService(backend, idx);
            ImageReaders readers = retriever.readers();
            if (explain != null) {
                java.nio.file.Files.createDirectories(explain);
            }
            List<ContactSheet.Row> rows = new ArrayList<>();
            try (org.medsearch.service.Explainer explainer =
                    explain == null ? null : org.medsearch.service.Explainer.open(model, 0, Output.progress(false))) {
                for (Query query : all) {
                    MedicalImage img;
                    try {
                        img = query.image().read(readers);
                    } catch (ImageFormatException e) {
                        err.println("medsearch: " + query.name() + ": " + e.getMessage());
                        err.flush();
                        status = 2;
                        continue;
                    }
                    if (region != null) {
                        try {
                            img = region.crop(img);
                        } catch (IllegalArgumentException e) {
                            throw new MedsearchException(query.name() + ": " + e.getMessage());
                        }
                    }
                    Path q = query.file() != null ? query.file() : Path.of(query.name());
                    SearchResult r = retriever.search(img, request);
                    if (json) {
                        out.println(SearchAnswer.of(request, r, SearchAnswer.Timings.of(0, 0, r))
                                .withQuery(query.name())
                                .toJson());
                    } else {
                        Printing.search(out, q, r);
                    }
                    rows.add(new ContactSheet.Row(query.name(), img, r));
                    if (explainer != null) {
                        explainHits(explainer, query.name(), img, r, readers, json ? err : out);
                    }
                }
                if (sheet != null && !rows.isEmpty()) {
                    ContactSheet.write(sheet, rows, readers, explainer == null ? null : explainer::map);
                    (json ? err : out).println("Contact sheet: " + sheet);
                }
            }
        }
        out.flush();
        return status;
    }

    /** Writes the similarity maps of a query and each of its hits that can be read. */
    private void explainHits(
            org.medsearch.service.Explainer explainer,
            String name,
            MedicalImage query,
            SearchResult r,
            ImageReaders readers,
            PrintWriter to)
            throws java.io.IOException {
        String stem = name.replaceAll("[^A-Za-z0-9._-]", "_");
        int rank = 0;
        long nanos = 0;
        for (org.medsearch.index.Hit h : r.hits()) {
            rank++;
            MedicalImage hit;
            try {
                hit = org.medsearch.dataset.SampleLoader.load(h.image().path(), readers);
            } catch (ImageFormatException e) {
                to.println("  hit " + rank + " (image " + h.id() + ") cannot be read for its map: " + e.getMessage());
                continue;
            }
            org.medsearch.service.Explainer.Explanation e = explainer.explain(query, hit, 256);
            nanos += e.nanos();
            java.nio.file.Files.write(explain.resolve(String.format("%s-%02d-query.png", stem, rank)), e.queryPng());
            java.nio.file.Files.write(explain.resolve(String.format("%s-%02d-hit.png", stem, rank)), e.hitPng());
        }
        to.printf(
                "Similarity maps of %s and its %d hits: %s (%.0f ms each)%n",
                name, rank, explain, rank == 0 ? 0.0 : nanos / 1e6 / rank);
    }

    private org.medsearch.search.Feedback feedback() throws MedsearchException {
        try {
            return org.medsearch.search.Feedback.of(
                            org.medsearch.search.Feedback.ids(relevant), org.medsearch.search.Feedback.ids(irrelevant))
                    .withWeights(org.medsearch.search.Feedback.weights(rocchio));
        } catch (IllegalArgumentException e) {
            throw new MedsearchException("--relevant/--irrelevant/--rocchio: " + e.getMessage());
        }
    }

    /** A query image: its name as shown, its file (null from a PACS), and how to read it with the model's readers. */
    private record Query(String name, Path file, ImageSource image) {}

    @FunctionalInterface
    private interface ImageSource {
        MedicalImage read(ImageReaders readers) throws java.io.IOException;
    }

    private SearchFilter filter(VectorStore idx) throws java.io.IOException {
        SearchFilter f = SearchFilter.ALL;
        PatientKeys keys = Stores.patientKeys(index, idx, false);
        if (excludePatient != null) {
            f = f.excludingPatient(key(keys, excludePatient));
        }
        if (filters == null) {
            return f;
        }
        for (Map.Entry<String, String> e : filters.entrySet()) {
            switch (e.getKey()) {
                case "modality" -> f = f.withModality(e.getValue());
                case "split" -> f = f.withSplits(java.util.Set.of(e.getValue()));
                case "class" -> f = f.withClasses(java.util.Set.of(e.getValue()));
                case "patient" -> f = f.withPatient(key(keys, e.getValue()));
                case "study" -> f = f.withStudy(key(keys, e.getValue()));
                default ->
                    throw new MedsearchException("--filter: unknown key '" + e.getKey()
                            + "' (known: modality, split, class, patient, study)");
            }
        }
        return f;
    }

    /** The stored key of a raw id; an index that never stored one matches nothing. */
    private static String key(PatientKeys keys, String rawId) {
        return keys == null ? "no-patient-keys-in-this-index" : keys.key(rawId);
    }
}
