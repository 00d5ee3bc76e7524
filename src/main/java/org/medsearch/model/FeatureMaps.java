package org.medsearch.model;

/**
 * The last convolutional block's output for a batch of images, and the features it pools to:
 * image {@code i}'s feature vector is the mean of its {@code grid * grid} cell vectors, so any
 * quantity linear in the features decomposes over the cells (see
 * {@link org.medsearch.search.SimilarityMap}).
 *
 * <pre>{@code
 * FeatureMaps m = mapper.featureMaps(prep.apply(image), 1);
 * float v = m.cell(0, 3, 2, 5); // image 0, cell (row 2, column 5), channel 3
 * }</pre>
 *
 * @param count images
 * @param grid the side of each image's feature grid ({@code ceil(size / 32)})
 * @param maps {@code count x 512 x grid x grid}, channels first
 * @param features {@code count x 512}, the global average of each map
 */
public record FeatureMaps(int count, int grid, float[] maps, float[] features) {

    public FeatureMaps {
        int d = ResNet18.FEATURE_DIM;
        if (maps.length != (long) count * d * grid * grid || features.length != (long) count * d) {
            throw new IllegalArgumentException("feature maps of " + count + " images of " + grid + "x" + grid
                    + " cells: expected " + (count * d * grid * grid) + " and " + (count * d) + " floats");
        }
    }

    /** Channel {@code c} of image {@code i} at cell (row, column). */
    public float cell(int i, int c, int row, int column) {
        int g = grid;
        return maps[((i * ResNet18.FEATURE_DIM + c) * g + row) * g + column];
    }

    /** Image {@code i}'s pooled feature vector (a copy). */
    public float[] features(int i) {
        float[] f = new float[ResNet18.FEATURE_DIM];
        System.arraycopy(features, i * ResNet18.FEATURE_DIM, f, 0, f.length);
        return f;
    }
}
