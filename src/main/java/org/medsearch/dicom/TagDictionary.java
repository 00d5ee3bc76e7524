package org.medsearch.dicom;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Keywords and value representations of the common DICOM tags, and which tags identify a person
 * or a study.
 *
 * <p>Contract: {@link #isIdentifying} errs on the side of hiding. A tag is identifying when it is in
 * the PS3.15 Basic Application Level Confidentiality Profile list kept here, when it is private (odd
 * group, whose content nobody can vouch for), when it belongs to the patient group (0010) or the
 * visit group (0038), when its VR holds a person name, a date or a time (PN, DA, DT, TM), free text
 * (LT, ST, UT, UC) or an instance UID (UI other than the class and syntax UIDs listed here). Such
 * values are never written to metadata, logs or messages.
 *
 * <pre>{@code
 * TagDictionary.keyword(0x00100010);             // "PatientName"
 * TagDictionary.isIdentifying(0x00100010, "PN"); // true
 * TagDictionary.isIdentifying(0x00280010, "US"); // false (Rows)
 * }</pre>
 */
public final class TagDictionary {
    private TagDictionary() {}

    private record Entry(String vr, String keyword, boolean identifying) {}

    private static final Map<Integer, Entry> ENTRIES = new HashMap<>(512);

    /** UIDs that name a class or an encoding, not an instance: safe to show. */
    private static final Set<Integer> NON_IDENTIFYING_UIDS =
            Set.of(0x00020002, 0x00020010, 0x00020012, 0x00080016, 0x00081150);

    private static void add(int tag, String vr, String keyword) {
        ENTRIES.put(tag, new Entry(vr, keyword, false));
    }

    /** An identifying tag (PS3.15 Table E.1-1, Basic Profile, the common ones). */
    private static void phi(int tag, String vr, String keyword) {
        ENTRIES.put(tag, new Entry(vr, keyword, true));
    }

    static {
        // file meta information
        add(0x00020000, "UL", "FileMetaInformationGroupLength");
        add(0x00020001, "OB", "FileMetaInformationVersion");
        add(0x00020002, "UI", "MediaStorageSOPClassUID");
        phi(0x00020003, "UI", "MediaStorageSOPInstanceUID");
        add(0x00020010, "UI", "TransferSyntaxUID");
        add(0x00020012, "UI", "ImplementationClassUID");
        add(0x00020013, "SH", "ImplementationVersionName");
        phi(0x00020016, "AE", "SourceApplicationEntityTitle");
        // general study, series, equipment, image
        add(0x00080005, "CS", "SpecificCharacterSet");
        add(0x00080008, "CS", "ImageType");
        phi(0x00080012, "DA", "InstanceCreationDate");
        phi(0x00080013, "TM", "InstanceCreationTime");
        phi(0x00080014, "UI", "InstanceCreatorUID");
        add(0x00080016, "UI", "SOPClassUID");
        phi(0x00080018, "UI", "SOPInstanceUID");
        phi(0x00080020, "DA", "StudyDate");
        phi(0x00080021, "DA", "SeriesDate");
        phi(0x00080022, "DA", "AcquisitionDate");
        phi(0x00080023, "DA", "ContentDate");
        phi(0x0008002A, "DT", "AcquisitionDateTime");
        phi(0x00080030, "TM", "StudyTime");
        phi(0x00080031, "TM", "SeriesTime");
        phi(0x00080032, "TM", "AcquisitionTime");
        phi(0x00080033, "TM", "ContentTime");
        phi(0x00080050, "SH", "AccessionNumber");
        add(0x00080060, "CS", "Modality");
        add(0x00080064, "CS", "ConversionType");
        add(0x00080070, "LO", "Manufacturer");
        phi(0x00080080, "LO", "InstitutionName");
        phi(0x00080081, "ST", "InstitutionAddress");
        phi(0x00080090, "PN", "ReferringPhysicianName");
        phi(0x00080092, "ST", "ReferringPhysicianAddress");
        phi(0x00080094, "SH", "ReferringPhysicianTelephoneNumbers");
        phi(0x00080096, "SQ", "ReferringPhysicianIdentificationSequence");
        add(0x00080100, "SH", "CodeValue");
        add(0x00080102, "SH", "CodingSchemeDesignator");
        add(0x00080104, "LO", "CodeMeaning");
        phi(0x00080201, "SH", "TimezoneOffsetFromUTC");
        phi(0x00081010, "SH", "StationName");
        phi(0x00081030, "LO", "StudyDescription");
        add(0x00081032, "SQ", "ProcedureCodeSequence");
        phi(0x0008103E, "LO", "SeriesDescription");
        phi(0x00081040, "LO", "InstitutionalDepartmentName");
        phi(0x00081048, "PN", "PhysiciansOfRecord");
        phi(0x00081050, "PN", "PerformingPhysicianName");
        phi(0x00081060, "PN", "NameOfPhysiciansReadingStudy");
        phi(0x00081070, "PN", "OperatorsName");
        phi(0x00081080, "LO", "AdmittingDiagnosesDescription");
        add(0x00081090, "LO", "ManufacturerModelName");
        phi(0x00081110, "SQ", "ReferencedStudySequence");
        phi(0x00081111, "SQ", "ReferencedPerformedProcedureStepSequence");
        phi(0x00081120, "SQ", "ReferencedPatientSequence");
        phi(0x00081140, "SQ", "ReferencedImageSequence");
        add(0x00081150, "UI", "ReferencedSOPClassUID");
        phi(0x00081155, "UI", "ReferencedSOPInstanceUID");
        phi(0x00082111, "ST", "DerivationDescription");
        phi(0x00082112, "SQ", "SourceImageSequence");
        // patient
        phi(0x00100010, "PN", "PatientName");
        phi(0x00100020, "LO", "PatientID");
        phi(0x00100021, "LO", "IssuerOfPatientID");
        phi(0x00100030, "DA", "PatientBirthDate");
        phi(0x00100032, "TM", "PatientBirthTime");
        phi(0x00100040, "CS", "PatientSex");
        phi(0x00101000, "LO", "OtherPatientIDs");
        phi(0x00101001, "PN", "OtherPatientNames");
        phi(0x00101005, "PN", "PatientBirthName");
        phi(0x00101010, "AS", "PatientAge");
        phi(0x00101020, "DS", "PatientSize");
        phi(0x00101030, "DS", "PatientWeight");
        phi(0x00101040, "LO", "PatientAddress");
        phi(0x00101060, "PN", "PatientMotherBirthName");
        phi(0x00101090, "LO", "MedicalRecordLocator");
        phi(0x00102154, "SH", "PatientTelephoneNumbers");
        phi(0x00102160, "SH", "EthnicGroup");
        phi(0x00102180, "SH", "Occupation");
        phi(0x001021B0, "LT", "AdditionalPatientHistory");
        phi(0x00104000, "LT", "PatientComments");
        // acquisition
        add(0x00180010, "LO", "ContrastBolusAgent");
        add(0x00180015, "CS", "BodyPartExamined");
        add(0x00180020, "CS", "ScanningSequence");
        add(0x00180021, "CS", "SequenceVariant");
        add(0x00180022, "CS", "ScanOptions");
        add(0x00180023, "CS", "MRAcquisitionType");
        add(0x00180050, "DS", "SliceThickness");
        add(0x00180060, "DS", "KVP");
        add(0x00180080, "DS", "RepetitionTime");
        add(0x00180081, "DS", "EchoTime");
        add(0x00180082, "DS", "InversionTime");
        add(0x00180083, "DS", "NumberOfAverages");
        add(0x00180084, "DS", "ImagingFrequency");
        add(0x00180086, "IS", "EchoNumbers");
        add(0x00180087, "DS", "MagneticFieldStrength");
        add(0x00180088, "DS", "SpacingBetweenSlices");
        add(0x00180090, "DS", "DataCollectionDiameter");
        add(0x00180091, "IS", "EchoTrainLength");
        add(0x00180095, "DS", "PixelBandwidth");
        phi(0x00181000, "LO", "DeviceSerialNumber");
        add(0x00181020, "LO", "SoftwareVersions");
        phi(0x00181030, "LO", "ProtocolName");
        add(0x00181063, "DS", "FrameTime");
        add(0x00181100, "DS", "ReconstructionDiameter");
        add(0x00181110, "DS", "DistanceSourceToDetector");
        add(0x00181111, "DS", "DistanceSourceToPatient");
        add(0x00181120, "DS", "GantryDetectorTilt");
        add(0x00181130, "DS", "TableHeight");
        add(0x00181140, "CS", "RotationDirection");
        add(0x00181150, "IS", "ExposureTime");
        add(0x00181151, "IS", "XRayTubeCurrent");
        add(0x00181152, "IS", "Exposure");
        add(0x00181160, "SH", "FilterType");
        add(0x00181210, "SH", "ConvolutionKernel");
        add(0x00181250, "SH", "ReceiveCoilName");
        add(0x00181310, "US", "AcquisitionMatrix");
        add(0x00181312, "CS", "InPlanePhaseEncodingDirection");
        add(0x00181314, "DS", "FlipAngle");
        add(0x00185100, "CS", "PatientPosition");
        add(0x00185101, "CS", "ViewPosition");
        // relationship and geometry
        phi(0x0020000D, "UI", "StudyInstanceUID");
        phi(0x0020000E, "UI", "SeriesInstanceUID");
        phi(0x00200010, "SH", "StudyID");
        add(0x00200011, "IS", "SeriesNumber");
        add(0x00200012, "IS", "AcquisitionNumber");
        add(0x00200013, "IS", "InstanceNumber");
        add(0x00200020, "CS", "PatientOrientation");
        add(0x00200032, "DS", "ImagePositionPatient");
        add(0x00200037, "DS", "ImageOrientationPatient");
        phi(0x00200052, "UI", "FrameOfReferenceUID");
        add(0x00200060, "CS", "Laterality");
        add(0x00201040, "LO", "PositionReferenceIndicator");
        add(0x00201041, "DS", "SliceLocation");
        phi(0x00204000, "LT", "ImageComments");
        phi(0x00209161, "UI", "ConcatenationUID");
        // image pixel, modality and VOI LUT
        add(0x00280002, "US", "SamplesPerPixel");
        add(0x00280004, "CS", "PhotometricInterpretation");
        add(0x00280006, "US", "PlanarConfiguration");
        add(0x00280008, "IS", "NumberOfFrames");
        add(0x00280009, "AT", "FrameIncrementPointer");
        add(0x00280010, "US", "Rows");
        add(0x00280011, "US", "Columns");
        add(0x00280030, "DS", "PixelSpacing");
        add(0x00280034, "IS", "PixelAspectRatio");
        add(0x00280100, "US", "BitsAllocated");
        add(0x00280101, "US", "BitsStored");
        add(0x00280102, "US", "HighBit");
        add(0x00280103, "US", "PixelRepresentation");
        add(0x00280106, "US", "SmallestImagePixelValue");
        add(0x00280107, "US", "LargestImagePixelValue");
        add(0x00280120, "US", "PixelPaddingValue");
        add(0x00280121, "US", "PixelPaddingRangeLimit");
        add(0x00281040, "CS", "PixelIntensityRelationship");
        add(0x00281041, "SS", "PixelIntensityRelationshipSign");
        add(0x00281050, "DS", "WindowCenter");
        add(0x00281051, "DS", "WindowWidth");
        add(0x00281052, "DS", "RescaleIntercept");
        add(0x00281053, "DS", "RescaleSlope");
        add(0x00281054, "LO", "RescaleType");
        add(0x00281055, "LO", "WindowCenterWidthExplanation");
        add(0x00281056, "CS", "VOILUTFunction");
        add(0x00281090, "CS", "RecommendedViewingMode");
        add(0x00281101, "US", "RedPaletteColorLookupTableDescriptor");
        add(0x00281102, "US", "GreenPaletteColorLookupTableDescriptor");
        add(0x00281103, "US", "BluePaletteColorLookupTableDescriptor");
        add(0x00281199, "UI", "PaletteColorLookupTableUID");
        add(0x00281201, "OW", "RedPaletteColorLookupTableData");
        add(0x00281202, "OW", "GreenPaletteColorLookupTableData");
        add(0x00281203, "OW", "BluePaletteColorLookupTableData");
        add(0x00281221, "OW", "SegmentedRedPaletteColorLookupTableData");
        add(0x00281222, "OW", "SegmentedGreenPaletteColorLookupTableData");
        add(0x00281223, "OW", "SegmentedBluePaletteColorLookupTableData");
        add(0x00282110, "CS", "LossyImageCompression");
        add(0x00282112, "DS", "LossyImageCompressionRatio");
        add(0x00282114, "CS", "LossyImageCompressionMethod");
        add(0x00283000, "SQ", "ModalityLUTSequence");
        add(0x00283002, "US", "LUTDescriptor");
        add(0x00283006, "US", "LUTData");
        add(0x00283010, "SQ", "VOILUTSequence");
        add(0x00286040, "US", "RWavePointer");
        add(0x00286100, "SQ", "MaskSubtractionSequence");
        add(0x00286101, "CS", "MaskOperation");
        add(0x00286110, "US", "MaskFrameNumbers");
        // request, procedure, visit
        phi(0x00321032, "PN", "RequestingPhysician");
        phi(0x00321060, "LO", "RequestedProcedureDescription");
        phi(0x00380010, "LO", "AdmissionID");
        phi(0x00400244, "DA", "PerformedProcedureStepStartDate");
        phi(0x00400245, "TM", "PerformedProcedureStepStartTime");
        phi(0x00400253, "SH", "PerformedProcedureStepID");
        phi(0x00400254, "LO", "PerformedProcedureStepDescription");
        phi(0x00401001, "SH", "RequestedProcedureID");
        phi(0x00402016, "LO", "PlacerOrderNumberImagingServiceRequest");
        phi(0x00402017, "LO", "FillerOrderNumberImagingServiceRequest");
        phi(0x0040A124, "UI", "UID");
        phi(0x00880140, "UI", "StorageMediaFileSetUID");
        phi(0x30060024, "UI", "ReferencedFrameOfReferenceUID");
        // pixel data and encapsulation
        add(0x52009229, "SQ", "SharedFunctionalGroupsSequence");
        add(0x52009230, "SQ", "PerFrameFunctionalGroupsSequence");
        add(0x7FE00001, "OV", "ExtendedOffsetTable");
        add(0x7FE00002, "OV", "ExtendedOffsetTableLengths");
        add(0x7FE00008, "OF", "FloatPixelData");
        add(0x7FE00009, "OD", "DoubleFloatPixelData");
        add(0x7FE00010, "OW", "PixelData");
        add(0xFFFCFFFC, "OB", "DataSetTrailingPadding");
    }

    /** The keyword, e.g. {@code "Rows"}; {@code "GroupLength"} for (gggg,0000); null when unknown or private. */
    public static String keyword(int tag) {
        Entry e = ENTRIES.get(tag);
        if (e != null) {
            return e.keyword;
        }
        return (tag & 0xffff) == 0 ? "GroupLength" : null;
    }

    /** The VR the standard gives the tag (the first, where it allows several), or null when unknown. */
    public static String vr(int tag) {
        Entry e = ENTRIES.get(tag);
        if (e != null) {
            return e.vr;
        }
        return (tag & 0xffff) == 0 ? "UL" : null;
    }

    /** Whether a value of this tag (encoded with {@code vr}, may be null) could identify a patient or study. */
    public static boolean isIdentifying(int tag, String vr) {
        int group = tag >>> 16;
        if ((tag & 0xffff) == 0 && group != 0x0010) {
            return false; // group lengths are counts
        }
        Entry e = ENTRIES.get(tag);
        if (e != null && e.identifying) {
            return true;
        }
        if ((group & 1) == 1 || group == 0x0010 || group == 0x0038) {
            return true;
        }
        String v = vr != null && !"UN".equals(vr) ? vr : e != null ? e.vr : "UN";
        switch (v) {
            case "PN", "DA", "DT", "TM", "LT", "ST", "UT", "UC":
                return true;
            case "UI":
                return !NON_IDENTIFYING_UIDS.contains(tag);
            case "UN":
                return e == null; // unknown bytes of an unknown tag: hide them
            default:
                return false;
        }
    }
}
