package org.medsearch.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.LuceneIndex;
import org.medsearch.index.VectorFormat;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.Pretrained;
import org.medsearch.model.ResNet18;
import org.medsearch.util.Progress;
import org.medsearch.util.Version;

/** What {@code --model} names: a model bundle directory, or {@code imagenet} (the bare ImageNet backbone). */
final class Models {
    private Models() {}

    static final String IMAGENET = "imagenet";
    /** torchvision's evaluation size for ImageNet weights. */
    static final int IMAGENET_SIZE = 224;

    static boolean isImagenet(Path model) {
        return model.toString().equals(IMAGENET) && !Files.exists(model);
    }

    /**
     * Loads {@code --model}.
     *
     * @param imageSize the input size of the ImageNet backbone (ignored for bundles, which record theirs); 0 for 224
     */
    static ModelBundle load(Path model, int imageSize, Progress progress) throws IOException {
        if (isImagenet(model)) {
            Path weights = Pretrained.imagenetFile(Pretrained.cacheDir(), Pretrained.Source.imagenet(), progress);
            return ModelBundle.imagenetBackbone(weights, imageSize > 0 ? imageSize : IMAGENET_SIZE);
        }
        return ModelBundle.load(model);
    }

    /** Loads {@code --model} for searching {@code index}: the ImageNet backbone takes the index's input size. */
    static ModelBundle loadFor(Path model, LuceneIndex index, Progress progress) throws IOException {
        return load(model, index.info().imageSize(), progress);
    }

    /** What a new index built with {@code bundle} records. */
    static IndexInfo indexInfo(ModelBundle bundle, VectorFormat format) {
        return new IndexInfo(LuceneIndex.FORMAT, bundle.fingerprint(), bundle.classes(), ResNet18.FEATURE_DIM,
                Version.current(), format, bundle.preprocessing().imageSize());
    }
}
