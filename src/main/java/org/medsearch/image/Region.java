package org.medsearch.image;

/**
 * A rectangle of an image in its own pixels: the part a reader searches with ("more like this
 * part"). The crop is then pre-processed like any image.
 *
 * <p>Contract: a region has a positive width and height and lies inside the image it crops;
 * {@link #crop} refuses one that does not with an {@link IllegalArgumentException} naming both
 * sizes, and {@link #parse} refuses a malformed one.
 *
 * <pre>{@code
 * MedicalImage part = Region.parse("40,32,64,64").crop(image);
 * }</pre>
 *
 * @param x left column
 * @param y top row
 * @param width columns
 * @param height rows
 */
public record Region(int x, int y, int width, int height) {

    /** The smallest region searched: smaller crops are all upsampling. */
    public static final int MIN_SIDE = 8;

    public Region {
        if (x < 0 || y < 0 || width < MIN_SIDE || height < MIN_SIDE) {
            throw new IllegalArgumentException("a region is x,y,w,h in pixels with x, y >= 0 and w, h >= " + MIN_SIDE
                    + ", got " + x + "," + y + "," + width + "," + height);
        }
    }

    /** Parses {@code x,y,w,h} (integers, pixels of the query image). */
    public static Region parse(String s) {
        String[] p = s == null ? new String[0] : s.strip().split("\\s*,\\s*", -1);
        if (p.length == 4) {
            try {
                return new Region(
                        Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]), Integer.parseInt(p[3]));
            } catch (NumberFormatException e) {
                // refused below
            }
        }
        String shown = s == null ? "" : s.length() > 40 ? s.substring(0, 40) + "..." : s;
        throw new IllegalArgumentException("a region is x,y,w,h in pixels (four integers), got '" + shown + "'");
    }

    /** The part of {@code img} this region covers. */
    public MedicalImage crop(MedicalImage img) {
        if ((long) x + width > img.width() || (long) y + height > img.height()) {
            throw new IllegalArgumentException(
                    "the region " + this + " does not lie inside the " + img.width() + "x" + img.height() + " image");
        }
        float[] out = new float[width * height];
        for (int r = 0; r < height; r++) {
            System.arraycopy(img.pixels(), (y + r) * img.width() + x, out, r * width, width);
        }
        return new MedicalImage(width, height, out, img.metadata());
    }

    @Override
    public String toString() {
        return x + "," + y + "," + width + "," + height;
    }
}
