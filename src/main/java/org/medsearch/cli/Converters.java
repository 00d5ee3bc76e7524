package org.medsearch.cli;

import java.util.EnumSet;
import java.util.Set;
import java.util.function.Function;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.dicom.WindowPreset;
import org.medsearch.index.VectorFormat;
import org.medsearch.model.FineTune;
import org.medsearch.model.Pretrained;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.search.Scope;
import org.medsearch.service.IndexLocation;
import org.medsearch.volume.Plane;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * picocli converters for the options whose values are a fixed set or a small grammar, so that a
 * command receives typed values and a bad one is refused by the parser, before any work, as
 * "Invalid value for option '--vectors': ..." with exit status 2.
 */
final class Converters {
    private Converters() {}

    /** Adapts a domain parser whose complaint is an {@link IllegalArgumentException}. */
    private static <T> T convert(String value, Function<String, T> parse) {
        try {
            return parse.apply(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }

    /** {@code --index}: a directory, or a Solr collection (solr://..., solr+http://...). */
    static final class Index implements ITypeConverter<IndexLocation> {
        @Override
        public IndexLocation convert(String value) {
            try {
                return IndexLocation.parse(value);
            } catch (java.io.IOException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class Workers implements ITypeConverter<org.medsearch.service.IndexingJob.Worker> {
        @Override
        public org.medsearch.service.IndexingJob.Worker convert(String value) {
            return Converters.convert(value, org.medsearch.service.IndexingJob.Worker::parse);
        }
    }

    static final class Vectors implements ITypeConverter<VectorFormat> {
        @Override
        public VectorFormat convert(String value) {
            return Converters.convert(value, VectorFormat::parse);
        }
    }

    static final class Schedules implements ITypeConverter<TrainingRecipe.Schedule> {
        @Override
        public TrainingRecipe.Schedule convert(String value) {
            return Converters.convert(value, TrainingRecipe.Schedule::parse);
        }
    }

    /** A recipe's name, checked. */
    static final class Recipes implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            return Converters.convert(value, v -> TrainingRecipe.named(v).name());
        }
    }

    static final class Finetune implements ITypeConverter<FineTune> {
        @Override
        public FineTune convert(String value) {
            return Converters.convert(value, FineTune::parse);
        }
    }

    static final class Window implements ITypeConverter<WindowPreset> {
        @Override
        public WindowPreset convert(String value) {
            return Converters.convert(value, WindowPreset::parse);
        }
    }

    /** A duration: 90 (seconds), 90s, 5m, 1h; at least a second, at most a day. */
    static final class Durations implements ITypeConverter<java.time.Duration> {
        @Override
        public java.time.Duration convert(String value) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,6})([smh]?)")
                    .matcher(value.strip().toLowerCase(java.util.Locale.ROOT));
            if (!m.matches()) {
                throw new TypeConversionException("expected a duration such as 90, 90s, 5m or 1h, got '" + value + "'");
            }
            long n = Long.parseLong(m.group(1));
            java.time.Duration d = switch (m.group(2)) {
                case "m" -> java.time.Duration.ofMinutes(n);
                case "h" -> java.time.Duration.ofHours(n);
                default -> java.time.Duration.ofSeconds(n);
            };
            if (d.isZero() || d.compareTo(java.time.Duration.ofDays(1)) > 0) {
                throw new TypeConversionException("a duration between 1 s and 24 h, got '" + value + "'");
            }
            return d;
        }
    }

    static final class Regions implements ITypeConverter<org.medsearch.image.Region> {
        @Override
        public org.medsearch.image.Region convert(String value) {
            return Converters.convert(value, org.medsearch.image.Region::parse);
        }
    }

    static final class Planes implements ITypeConverter<Plane> {
        @Override
        public Plane convert(String value) {
            return Converters.convert(value, Plane::parse);
        }
    }

    static final class Ratios implements ITypeConverter<SplitRatios> {
        @Override
        public SplitRatios convert(String value) {
            return Converters.convert(value, s -> {
                try {
                    return SplitRatios.parse(s);
                } catch (IllegalArgumentException e) { // NumberFormatException included
                    throw new IllegalArgumentException(
                            "three non-negative numbers like 70/15/15 (train > 0), got '" + s + "'");
                }
            });
        }
    }

    static final class Init implements ITypeConverter<Pretrained.Choice> {
        @Override
        public Pretrained.Choice convert(String value) {
            Pretrained.Choice c = Converters.convert(value, Pretrained.Choice::parse);
            if (c.kind() == Pretrained.Choice.Kind.FILE && !java.nio.file.Files.isRegularFile(c.file())) {
                throw new TypeConversionException("no such file " + c.file()
                        + " (use scratch, imagenet, or a torchvision state dict as .safetensors or .pth)");
            }
            return c;
        }
    }

    /** {@code train}, {@code val}, {@code test} or a sum such as {@code train+val}. */
    static final class Parts implements ITypeConverter<Set<Split.Part>> {
        @Override
        public Set<Split.Part> convert(String value) {
            Set<Split.Part> p = EnumSet.noneOf(Split.Part.class);
            for (String t : value.split("\\+")) {
                try {
                    p.add(Split.Part.parse(t));
                } catch (IllegalArgumentException e) {
                    throw new TypeConversionException(
                            "expected train, val, test or a sum like train+val, got '" + value + "'");
                }
            }
            return p;
        }
    }

    static final class Scopes implements ITypeConverter<Scope> {
        @Override
        public Scope convert(String value) {
            return Converters.convert(value, Scope::parse);
        }
    }
}
