package org.medsearch.model;

import java.util.Locale;
import java.util.Set;

/**
 * Which part of the network training updates. Frozen modules keep their weights and their
 * BatchNorm statistics bit for bit.
 *
 * <pre>{@code
 * FineTune f = FineTune.parse("last-block"); // layer4 and the head train; the rest is frozen
 * }</pre>
 */
public enum FineTune {
    /** Everything trains (the paper). */
    FULL(Set.of()),
    /** layer4 and the head train. */
    LAST_BLOCK(Set.of("conv1", "bn1", "layer1", "layer2", "layer3")),
    /** Only the head trains: a linear probe on frozen features. */
    HEAD(Set.of("conv1", "bn1", "layer1", "layer2", "layer3", "layer4"));

    private final Set<String> frozen;

    FineTune(Set<String> frozen) {
        this.frozen = frozen;
    }

    /** Frozen top-level modules. */
    public Set<String> frozen() {
        return frozen;
    }

    /** Whether a parameter (torchvision name) is updated. */
    public boolean trains(String parameter) {
        return !frozen.contains(ResNet18.module(parameter));
    }

    public String key() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static FineTune parse(String s) {
        for (FineTune f : values()) {
            if (f.key().equalsIgnoreCase(s.trim())) {
                return f;
            }
        }
        throw new IllegalArgumentException("must be full, last-block or head, got '" + s + "'");
    }
}
