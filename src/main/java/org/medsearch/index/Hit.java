package org.medsearch.index;

/**
 * One search result.
 *
 * @param id the indexed image's id
 * @param squaredDistance squared Euclidean distance to the query vector
 * @param image the stored image (its vector included)
 */
public record Hit(long id, float squaredDistance, IndexedImage image) {

    /** The paper's score: mean squared error over the vector's dimensions. */
    public float meanSquaredError() {
        return squaredDistance / image.vector().length;
    }
}
