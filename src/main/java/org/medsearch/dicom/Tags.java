package org.medsearch.dicom;

/**
 * Tag numbers ({@code group << 16 | element}) used by medsearch. {@link TagDictionary} has the keyword
 * and VR of these and more.
 *
 * <pre>{@code
 * int rows = dicom.dataset().integer(Tags.ROWS);
 * }</pre>
 */
public final class Tags {
    private Tags() {}

    public static final int TRANSFER_SYNTAX_UID = 0x00020010;
    public static final int SPECIFIC_CHARACTER_SET = 0x00080005;
    public static final int SOP_INSTANCE_UID = 0x00080018;
    public static final int MODALITY = 0x00080060;
    public static final int PATIENT_NAME = 0x00100010;
    public static final int PATIENT_ID = 0x00100020;
    public static final int PATIENT_BIRTH_DATE = 0x00100030;
    public static final int BODY_PART_EXAMINED = 0x00180015;
    public static final int SLICE_THICKNESS = 0x00180050;
    public static final int STUDY_INSTANCE_UID = 0x0020000D;
    public static final int SERIES_INSTANCE_UID = 0x0020000E;
    public static final int INSTANCE_NUMBER = 0x00200013;
    public static final int IMAGE_POSITION_PATIENT = 0x00200032;
    public static final int IMAGE_ORIENTATION_PATIENT = 0x00200037;
    public static final int SAMPLES_PER_PIXEL = 0x00280002;
    public static final int PHOTOMETRIC_INTERPRETATION = 0x00280004;
    public static final int PLANAR_CONFIGURATION = 0x00280006;
    public static final int NUMBER_OF_FRAMES = 0x00280008;
    public static final int ROWS = 0x00280010;
    public static final int COLUMNS = 0x00280011;
    public static final int PIXEL_SPACING = 0x00280030;
    public static final int BITS_ALLOCATED = 0x00280100;
    public static final int BITS_STORED = 0x00280101;
    public static final int HIGH_BIT = 0x00280102;
    public static final int PIXEL_REPRESENTATION = 0x00280103;
    public static final int PIXEL_PADDING_VALUE = 0x00280120;
    public static final int WINDOW_CENTER = 0x00281050;
    public static final int WINDOW_WIDTH = 0x00281051;
    public static final int RESCALE_INTERCEPT = 0x00281052;
    public static final int RESCALE_SLOPE = 0x00281053;
    public static final int RED_PALETTE_DESCRIPTOR = 0x00281101;
    public static final int RED_PALETTE_DATA = 0x00281201;
    public static final int SEGMENTED_RED_PALETTE_DATA = 0x00281221;
    public static final int EXTENDED_OFFSET_TABLE = 0x7FE00001;
    public static final int PIXEL_DATA = 0x7FE00010;

    static final int ITEM = 0xFFFEE000;
    static final int ITEM_DELIMITATION = 0xFFFEE00D;
    static final int SEQUENCE_DELIMITATION = 0xFFFEE0DD;
}
