package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.medsearch.image.Augmentation;
import org.medsearch.util.Json;

/** The two recipes, the schedules, and recipes written before the strong one existed. */
class TrainingRecipeTest {

    @Test
    void paperScheduleDecaysInSteps() {
        TrainingRecipe p = TrainingRecipe.paper();
        assertEquals(0.001, p.learningRateAt(0), 1e-15);
        assertEquals(0.001, p.learningRateAt(2, 0.9), 1e-15);
        assertEquals(1e-4, p.learningRateAt(3), 1e-15);
        assertEquals(1e-6, p.learningRateAt(9), 1e-18);
    }

    @Test
    void cosineFollowsHalfACosineAfterTheWarmup() {
        TrainingRecipe s = TrainingRecipe.strong().withEpochs(11); // 1 warm-up epoch, 10 of cosine
        double lr = s.learningRate();
        assertEquals(lr * 0.5, s.learningRateAt(0, 0.5), 1e-12, "half-way through the warm-up");
        assertEquals(lr, s.learningRateAt(1), 1e-12, "the top, once warmed up");
        assertEquals(lr * 0.5, s.learningRateAt(6), 1e-12, "half-way through the cosine");
        assertEquals(lr * 0.5 * (1 + Math.cos(Math.PI * 0.25)), s.learningRateAt(3, 0.5), 1e-12);
        assertTrue(s.learningRateAt(10, 0.99) < lr * 1e-3, "near zero at the end");
    }

    @Test
    void strongRecipeTurnsEveryKnobOn() {
        TrainingRecipe s = TrainingRecipe.strong();
        assertEquals(TrainingRecipe.STRONG, s.name());
        assertEquals(TrainingRecipe.Schedule.COSINE, s.schedule());
        assertTrue(s.weightDecay() > 0 && s.labelSmoothing() > 0 && s.classBalanced() && s.earlyStopping());
        assertEquals(Augmentation.standard(false), s.augmentation());
        assertEquals(0, s.metricLossWeight(), "the metric loss is an option of its own");
        TrainingRecipe tuned =
                s.toBuilder().optFlip(true).optMetricLossWeight(0.5).build();
        assertTrue(tuned.augmentation().flip());
        assertEquals(0.5, tuned.metricLossWeight());
        assertEquals(TrainingRecipe.STRONG, tuned.name());
        assertNull(s.toBuilder().optAugment(false).build().augmentation());
    }

    @Test
    void badValuesAreNamed() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> TrainingRecipe.strong().toBuilder().optLabelSmoothing(1).build());
        assertTrue(e.getMessage().startsWith("labelSmoothing must"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainingRecipe.named("fast"));
        assertTrue(e.getMessage().contains("paper or strong"), e.getMessage());
    }

    @Test
    void aRecipeWrittenBeforeTheStrongOneReadsAsThePapers() throws Exception {
        String old = "{\"imageSize\":64,\"epochs\":3,\"learningRate\":0.001,\"lrStep\":3,\"lrGamma\":0.1,"
                + "\"batchSize\":32,\"momentum\":0.9,\"weightDecay\":0.0,\"seed\":1,\"fineTune\":\"FULL\","
                + "\"backboneLrFactor\":1.0,\"warmupEpochs\":0.0}";
        TrainingRecipe r = Json.MAPPER.readValue(old, TrainingRecipe.class);
        assertEquals(TrainingRecipe.paper().withImageSize(64).withEpochs(3), r);
        TrainingRecipe s = TrainingRecipe.strong().toBuilder().optFlip(true).build();
        assertEquals(s, Json.MAPPER.readValue(Json.MAPPER.writeValueAsString(s), TrainingRecipe.class));
    }
}
