package org.medsearch.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shape of the pipeline, checked on the compiled classes (ArchUnit): each rule fails the build
 * when a forbidden dependency appears. See README's "What is where".
 */
class ArchitectureTest {

    static JavaClasses classes;

    @BeforeAll
    static void load() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.medsearch");
    }

    @Test
    void noPackageCycles() {
        slices().matching("org.medsearch.(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void theIndexKnowsNeitherTheModelNorTheDataSets() {
        noClasses().that().resideInAPackage("org.medsearch.index..").should().dependOnClassesThat()
                .resideInAnyPackage("org.medsearch.model..", "org.medsearch.dataset..").check(classes);
    }

    @Test
    void theFrontEndsSearchOnlyThroughTheSearchService() {
        noClasses().that().resideInAnyPackage("org.medsearch.cli..", "org.medsearch.server..", "org.medsearch.eval..")
                .should().callMethod(org.medsearch.index.LuceneIndex.class, "search", float[].class, int.class,
                        org.medsearch.index.SearchFilter.class, org.medsearch.index.LuceneIndex.SearchMode.class)
                .orShould().callMethod(org.medsearch.index.LuceneIndex.class, "search", float[].class, int.class,
                        org.medsearch.index.SearchFilter.class)
                .check(classes);
    }

    @Test
    void theEnginesAreChosenInTheServiceLayerOnly() {
        noClasses().that().resideInAnyPackage("org.medsearch.cli..", "org.medsearch.server..", "org.medsearch.eval..")
                .should().dependOnClassesThat().haveFullyQualifiedName("org.medsearch.index.LuceneIndex")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("org.medsearch.model.TorchBackend")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("org.medsearch.model.Embedder")
                .check(classes);
    }

    @Test
    void djlStaysInTheModelPackage() {
        noClasses().that().resideOutsideOfPackage("org.medsearch.model..").should().dependOnClassesThat()
                .resideInAPackage("ai.djl..").check(classes);
    }
}
