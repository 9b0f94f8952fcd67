//! The attributes of a written image: identity, Image Pixel module, and the geometry
//! either at the top level (CT Image) or in functional groups (Enhanced CT Image).

use dicom_core::value::PrimitiveValue;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::{DicomImageSpec, ds, item, put, sequence};

/// SOP class and instance, study, series and frame of reference, and the optional
/// descriptive attributes.
pub(super) fn identity(obj: &mut InMemDicomObject, spec: &DicomImageSpec, sop_class: &str) {
    put(obj, tags::SOP_CLASS_UID, VR::UI, sop_class);
    put(
        obj,
        tags::SOP_INSTANCE_UID,
        VR::UI,
        spec.sop_instance_uid.as_str(),
    );
    put(
        obj,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        spec.study_uid.as_str(),
    );
    put(
        obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        spec.series_uid.as_str(),
    );
    if let Some(v) = &spec.frame_of_reference_uid {
        put(obj, tags::FRAME_OF_REFERENCE_UID, VR::UI, v.as_str());
    }
    put(obj, tags::MODALITY, VR::CS, spec.modality.as_str());
    put(
        obj,
        tags::IMAGE_TYPE,
        VR::CS,
        PrimitiveValue::Strs(spec.image_type.iter().cloned().collect()),
    );
    let texts: [(Tag, VR, &Option<String>); 8] = [
        (tags::SERIES_DESCRIPTION, VR::LO, &spec.series_description),
        (tags::CONVOLUTION_KERNEL, VR::SH, &spec.kernel),
        (tags::MANUFACTURER, VR::LO, &spec.manufacturer),
        (tags::MANUFACTURER_MODEL_NAME, VR::LO, &spec.model),
        (tags::BODY_PART_EXAMINED, VR::CS, &spec.body_part),
        (tags::PATIENT_ID, VR::LO, &spec.patient_id),
        (tags::PATIENT_NAME, VR::PN, &spec.patient_name),
        (tags::ACCESSION_NUMBER, VR::SH, &spec.accession_number),
    ];
    for (tag, vr, v) in texts {
        if let Some(v) = v {
            put(obj, tag, vr, v.as_str());
        }
    }
    if let Some(d) = &spec.study_date {
        put(obj, tags::STUDY_DATE, VR::DA, d.as_str());
    }
    for (tag, v) in [
        (tags::SERIES_NUMBER, spec.series_number),
        (tags::INSTANCE_NUMBER, spec.instance_number),
        (tags::ACQUISITION_NUMBER, spec.acquisition_number),
    ] {
        if let Some(v) = v {
            put(obj, tag, VR::IS, v.to_string());
        }
    }
    if let Some(v) = spec.spacing_between_slices {
        put(obj, tags::SPACING_BETWEEN_SLICES, VR::DS, ds(&[v]));
    }
    if let Some(v) = spec.gantry_tilt {
        put(obj, tags::GANTRY_DETECTOR_TILT, VR::DS, ds(&[v]));
    }
}

/// The Image Pixel module: one 16-bit sample per pixel.
pub(super) fn image_pixel(obj: &mut InMemDicomObject, spec: &DicomImageSpec) {
    put(obj, tags::SAMPLES_PER_PIXEL, VR::US, 1u16);
    let photometric = if spec.monochrome1 {
        "MONOCHROME1"
    } else {
        "MONOCHROME2"
    };
    put(obj, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, photometric);
    put(obj, tags::ROWS, VR::US, spec.rows);
    put(obj, tags::COLUMNS, VR::US, spec.cols);
    put(obj, tags::BITS_ALLOCATED, VR::US, 16u16);
    put(obj, tags::BITS_STORED, VR::US, spec.bits_stored);
    put(obj, tags::HIGH_BIT, VR::US, spec.bits_stored - 1);
    put(
        obj,
        tags::PIXEL_REPRESENTATION,
        VR::US,
        u16::from(spec.signed),
    );
    if let Some(p) = spec.padding {
        if spec.signed {
            put(obj, tags::PIXEL_PADDING_VALUE, VR::SS, p as i16);
        } else {
            put(obj, tags::PIXEL_PADDING_VALUE, VR::US, p as u16);
        }
    }
}

/// A CT Image's geometry and rescale, at the top level.
pub(super) fn classic_geometry(obj: &mut InMemDicomObject, spec: &DicomImageSpec) {
    let f = &spec.frames[0];
    if let Some(p) = f.position {
        put(obj, tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&p));
    }
    if let Some(o) = spec.orientation {
        put(obj, tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds(&o));
    }
    if let Some(s) = spec.pixel_spacing {
        put(obj, tags::PIXEL_SPACING, VR::DS, ds(&s));
    }
    if let Some(t) = spec.slice_thickness {
        put(obj, tags::SLICE_THICKNESS, VR::DS, ds(&[t]));
    }
    put(obj, tags::RESCALE_INTERCEPT, VR::DS, ds(&[f.intercept]));
    put(obj, tags::RESCALE_SLOPE, VR::DS, ds(&[f.slope]));
    put(obj, tags::RESCALE_TYPE, VR::LO, "HU");
}

/// An Enhanced CT Image's geometry: orientation and pixel measures shared, position and
/// rescale per frame.
pub(super) fn enhanced_geometry(obj: &mut InMemDicomObject, spec: &DicomImageSpec) {
    put(
        obj,
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        spec.frames.len().to_string(),
    );
    let shared = item(|s| {
        if let Some(o) = spec.orientation {
            s.put(sequence(
                tags::PLANE_ORIENTATION_SEQUENCE,
                vec![item(|i| {
                    put(i, tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds(&o));
                })],
            ));
        }
        s.put(sequence(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(|i| {
                if let Some(px) = spec.pixel_spacing {
                    put(i, tags::PIXEL_SPACING, VR::DS, ds(&px));
                }
                if let Some(t) = spec.slice_thickness {
                    put(i, tags::SLICE_THICKNESS, VR::DS, ds(&[t]));
                }
            })],
        ));
    });
    obj.put(sequence(
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![shared],
    ));
    let per_frame = spec
        .frames
        .iter()
        .map(|f| {
            item(|g| {
                if let Some(p) = f.position {
                    g.put(sequence(
                        tags::PLANE_POSITION_SEQUENCE,
                        vec![item(|i| {
                            put(i, tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&p));
                        })],
                    ));
                }
                g.put(sequence(
                    tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                    vec![item(|i| {
                        put(i, tags::RESCALE_INTERCEPT, VR::DS, ds(&[f.intercept]));
                        put(i, tags::RESCALE_SLOPE, VR::DS, ds(&[f.slope]));
                        put(i, tags::RESCALE_TYPE, VR::LO, "HU");
                    })],
                ));
            })
        })
        .collect();
    obj.put(sequence(
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        per_frame,
    ));
}
