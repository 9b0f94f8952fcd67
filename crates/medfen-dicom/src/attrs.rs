//! Reading attribute values from a parsed DICOM object, leniently but visibly: a value
//! that does not parse is reported to the caller, never silently treated as absent.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;

/// A value that is present but unparseable, as its raw text.
pub(crate) type Unparsed = String;

/// Trimmed text of an attribute (multiple values joined with `\`); `None` when absent
/// or empty.
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let e = obj.get(tag)?;
    let s = e.to_str().ok()?;
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!t.is_empty()).then(|| t.to_owned())
}

/// The values of a multi-valued text attribute, trimmed, empty values dropped.
pub(crate) fn texts(obj: &InMemDicomObject, tag: Tag) -> Vec<String> {
    obj.get(tag)
        .and_then(|e| e.to_multi_str().ok().map(|v| v.to_vec()))
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// The numbers of a (possibly multi-valued) numeric attribute.
pub(crate) fn floats(obj: &InMemDicomObject, tag: Tag) -> Result<Option<Vec<f64>>, Unparsed> {
    let Some(e) = obj.get(tag) else {
        return Ok(None);
    };
    if e.value().multiplicity() == 0 {
        return Ok(None);
    }
    match e.to_multi_float64() {
        Ok(v) if v.iter().all(|x| x.is_finite()) => Ok(Some(v)),
        _ => {
            let raw = e
                .to_str()
                .map_or_else(|_| "<binary>".into(), |s| s.trim().to_owned());
            if raw.is_empty() { Ok(None) } else { Err(raw) }
        }
    }
}

/// A single number.
pub(crate) fn float(obj: &InMemDicomObject, tag: Tag) -> Result<Option<f64>, Unparsed> {
    Ok(floats(obj, tag)?.and_then(|v| v.first().copied()))
}

/// A single integer (IS, US, SS, UL, SL...).
pub(crate) fn int(obj: &InMemDicomObject, tag: Tag) -> Result<Option<i64>, Unparsed> {
    let Some(e) = obj.get(tag) else {
        return Ok(None);
    };
    if e.value().multiplicity() == 0 {
        return Ok(None);
    }
    if let Ok(v) = e.to_int::<i64>() {
        return Ok(Some(v));
    }
    // Some writers store IS values with a decimal point ("12.0").
    let raw = e.to_str().map(|s| s.trim().to_owned()).unwrap_or_default();
    match raw.parse::<f64>() {
        _ if raw.is_empty() => Ok(None),
        Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
        _ => Err(raw),
    }
}

/// The first item of a sequence attribute.
pub(crate) fn first_item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)?.items()?.first()
}
