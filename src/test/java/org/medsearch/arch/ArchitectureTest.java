package org.medsearch.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.medsearch.index.LuceneIndex;
import org.medsearch.index.SearchFilter;
import org.medsearch.index.VectorStore;

/**
 * The shape of the pipeline, checked on the compiled classes (ArchUnit): each rule fails the build
 * when a forbidden dependency appears. See README's "What is where".
 */
class ArchitectureTest {

    static JavaClasses classes;

    @BeforeAll
    static void load() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.medsearch");
    }

    @Test
    void noPackageCycles() {
        slices().matching("org.medsearch.(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void theIndexKnowsNeitherTheModelNorTheDataSets() {
        noClasses()
                .that()
                .resideInAPackage("org.medsearch.index..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.medsearch.model..", "org.medsearch.dataset..")
                .check(classes);
    }

    /** {@code bench-index} measures the embedded Lucene store itself, so it alone may reach it directly. */
    static final String STORE_BENCHMARK = "org.medsearch.cli.BenchIndexCommand";

    @Test
    void theFrontEndsSearchOnlyThroughTheSearchService() {
        for (Class<?> store : List.of(VectorStore.class, LuceneIndex.class)) {
            noClasses()
                    .that()
                    .resideInAnyPackage("org.medsearch.cli..", "org.medsearch.server..", "org.medsearch.eval..")
                    .and()
                    .doNotHaveFullyQualifiedName(STORE_BENCHMARK)
                    .should()
                    .callMethod(
                            store, "search", float[].class, int.class, SearchFilter.class, VectorStore.SearchMode.class)
                    .orShould()
                    .callMethod(store, "search", float[].class, int.class, SearchFilter.class)
                    .check(classes);
        }
    }

    @Test
    void theEnginesAreChosenInTheServiceLayerOnly() {
        noClasses()
                .that()
                .resideInAnyPackage("org.medsearch.cli..", "org.medsearch.server..", "org.medsearch.eval..")
                .and()
                .doNotHaveFullyQualifiedName(STORE_BENCHMARK)
                .should()
                .dependOnClassesThat()
                .haveFullyQualifiedName("org.medsearch.index.LuceneIndex")
                .orShould()
                .dependOnClassesThat()
                .haveFullyQualifiedName("org.medsearch.model.TorchBackend")
                .orShould()
                .dependOnClassesThat()
                .haveFullyQualifiedName("org.medsearch.model.Embedder")
                .orShould()
                .dependOnClassesThat()
                .haveFullyQualifiedName("org.medsearch.model.onnx.OnnxBackend")
                .orShould()
                .dependOnClassesThat()
                .haveFullyQualifiedName("org.medsearch.index.solr.SolrVectorStore")
                .check(classes);
    }

    /**
     * The DICOMweb client is a leaf (it knows HTTP, JSON and medsearch's error type, nothing of
     * images, models or indexes), and it only reads: no request it builds can change the PACS.
     */
    @Test
    void theDicomWebClientIsALeafThatOnlyReads() {
        noClasses()
                .that()
                .resideInAPackage("org.medsearch.dicomweb..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.medsearch.model..",
                        "org.medsearch.index..",
                        "org.medsearch.image..",
                        "org.medsearch.dataset..",
                        "org.medsearch.service..",
                        "org.medsearch.server..",
                        "org.medsearch.cli..")
                .check(classes);
        noClasses()
                .that()
                .resideInAnyPackage("org.medsearch.dicomweb..", "org.medsearch.service..")
                .should()
                .callMethod(
                        java.net.http.HttpRequest.Builder.class, "POST", java.net.http.HttpRequest.BodyPublisher.class)
                .orShould()
                .callMethod(
                        java.net.http.HttpRequest.Builder.class, "PUT", java.net.http.HttpRequest.BodyPublisher.class)
                .orShould()
                .callMethod(java.net.http.HttpRequest.Builder.class, "DELETE")
                .orShould()
                .callMethod(
                        java.net.http.HttpRequest.Builder.class,
                        "method",
                        String.class,
                        java.net.http.HttpRequest.BodyPublisher.class)
                .because("medsearch only reads from a PACS")
                .check(classes);
    }

    /** SolrJ is reached through the Solr store's package only (its clients, retries and Jetty-free setup). */
    @Test
    void solrjStaysInTheSolrPackage() {
        noClasses()
                .that()
                .resideOutsideOfPackage("org.medsearch.index.solr..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("org.apache.solr..")
                .check(classes);
    }

    /** ONNX Runtime is started one way ({@code Ort}: its native library, threads, leftovers), in one package. */
    @Test
    void onnxRuntimeStaysInTheOnnxPackage() {
        noClasses()
                .that()
                .resideOutsideOfPackage("org.medsearch.model.onnx..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("ai.onnxruntime..")
                .check(classes);
    }

    @Test
    void djlStaysInTheModelPackage() {
        noClasses()
                .that()
                .resideOutsideOfPackage("org.medsearch.model..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("ai.djl..")
                .check(classes);
    }

    /**
     * Augmentation changes training images only: the trainer's epoch is the one caller of the
     * loader's augmentation switch, so no index, query, validation or test image is ever augmented.
     */
    @Test
    void onlyTheTrainingEpochAugments() {
        noClasses()
                .that()
                .doNotHaveFullyQualifiedName("org.medsearch.model.Trainer")
                .should()
                .callMethod(
                        org.medsearch.image.BatchLoader.class,
                        "optAugmentation",
                        org.medsearch.image.Augmentation.class,
                        long.class)
                .check(classes);
        // the loader applies what it was given; nothing else changes an image at random
        noClasses()
                .that()
                .doNotHaveFullyQualifiedName("org.medsearch.image.BatchLoader")
                .should()
                .callMethod(
                        org.medsearch.image.Augmentation.class,
                        "apply",
                        float[].class,
                        int.class,
                        java.util.SplittableRandom.class)
                .check(classes);
        // and within the trainer, only the training epoch does
        com.tngtech.archunit.core.domain.JavaClass trainer = classes.get(org.medsearch.model.Trainer.class);
        java.util.Set<String> callers = new java.util.TreeSet<>();
        trainer.getMethodCallsFromSelf().stream()
                .filter(c -> c.getTarget().getName().equals("optAugmentation"))
                .forEach(c -> callers.add(c.getOrigin().getName()));
        org.junit.jupiter.api.Assertions.assertEquals(java.util.Set.of("trainEpoch"), callers);
    }
}
