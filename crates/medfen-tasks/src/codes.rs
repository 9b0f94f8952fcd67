//! Diagnosis codes 1..=6 and the `N：name` cells of the label spreadsheet.

/// Number of diagnosis codes; codes are `1..=NUM_CODES`.
pub const NUM_CODES: usize = 6;

/// The code `value` when it is one of the diagnosis codes (1..=6).
///
/// ```
/// assert_eq!(medfen_tasks::checked_code(4), Some(4));
/// assert_eq!(medfen_tasks::checked_code(0), None);
/// assert_eq!(medfen_tasks::checked_code(7), None);
/// ```
pub fn checked_code(value: i64) -> Option<u8> {
    u8::try_from(value)
        .ok()
        .filter(|c| (1..=NUM_CODES).contains(&usize::from(*c)))
}

/// The position of `code` (1..=6) in per-code arrays such as `[usize; NUM_CODES]`.
pub fn code_index(code: u8) -> usize {
    usize::from(code) - 1
}

/// Chinese names of codes 1..=6, as the spreadsheet writes them.
pub const CODE_NAMES: [&str; NUM_CODES] = [
    "慢性化脓性中耳炎",
    "中耳胆脂瘤",
    "分泌性中耳炎",
    "胆固醇肉芽肿",
    "正常",
    "其他",
];

/// English names of codes 1..=6.
pub const CODE_NAMES_EN: [&str; NUM_CODES] = [
    "chronic suppurative otitis media",
    "cholesteatoma",
    "otitis media with effusion",
    "cholesterol granuloma",
    "normal",
    "other",
];

/// Parses a diagnosis cell: `N：name` or `N:name` (full-width or ASCII colon, spaces
/// allowed), or an empty cell (`Ok(None)`). The code must be 1..=6 and the name, when
/// given, must be that code's name.
///
/// ```
/// use medfen_tasks::parse_diagnosis;
/// assert_eq!(parse_diagnosis("5：正常"), Ok(Some(5)));
/// assert_eq!(parse_diagnosis(" 2 : 中耳胆脂瘤 "), Ok(Some(2)));
/// assert_eq!(parse_diagnosis("  "), Ok(None));
/// assert!(parse_diagnosis("正常").is_err());
/// assert!(parse_diagnosis("7：未知").is_err());
/// ```
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_diagnosis(text: &str) -> Result<Option<u8>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let Some((number, name)) = t.split_once(['：', ':']) else {
        return Err("not `N：name` (no colon)".into());
    };
    let number = number.trim();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{number}` is not a code number"));
    }
    let value: i64 = number
        .parse()
        .map_err(|_| format!("`{number}` is not a code number"))?;
    let code = checked_code(value)
        .ok_or_else(|| format!("unknown code {value} (codes are 1..{NUM_CODES})"))?;
    let name = name.trim();
    let expected = CODE_NAMES[code_index(code)];
    if !name.is_empty() && name != expected {
        return Err(format!(
            "code {code} is {expected}, but the cell names {name}"
        ));
    }
    Ok(Some(code))
}
