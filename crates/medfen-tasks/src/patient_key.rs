//! Keyed patient hashes: HMAC-SHA256 under a secret that never leaves the machine.
//!
//! The secret is 32 random bytes (hex) in a file created with mode 0600 on first use
//! (default `~/.config/medfen/patient-key.secret`, or `$MEDFEN_SECRET_FILE`). Without
//! the secret a key cannot be linked back to a patient ID by hashing guesses, unlike
//! the unsalted SHA-1 of the original pipeline.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The secret of the keyed patient hash.
#[derive(Clone)]
pub struct PatientKeySecret {
    key: Vec<u8>,
    path: PathBuf,
}

impl std::fmt::Debug for PatientKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PatientKeySecret({}, <redacted>)", self.path.display())
    }
}

/// Which header field a patient key was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// PatientID (0010,0020).
    PatientId,
    /// PatientName (0010,0010), when the ID is empty.
    PatientName,
    /// StudyInstanceUID, when both are empty (each study counts as its own patient).
    StudyUid,
}

impl KeySource {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::PatientId => "patient_id",
            Self::PatientName => "patient_name",
            Self::StudyUid => "study_uid",
        }
    }
}

/// The default secret file: `$MEDFEN_SECRET_FILE`, else
/// `$XDG_CONFIG_HOME/medfen/patient-key.secret`, else
/// `~/.config/medfen/patient-key.secret`.
pub fn default_secret_path() -> PathBuf {
    if let Some(p) = std::env::var_os("MEDFEN_SECRET_FILE") {
        return PathBuf::from(p);
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    config.join("medfen").join("patient-key.secret")
}

impl PatientKeySecret {
    /// Reads the secret at `path`, creating it (32 random bytes, hex, mode 0600) when
    /// it does not exist.
    ///
    /// # Errors
    /// [`Error::Secret`] when it cannot be read or created, is not 64 hex digits, or
    /// (on Unix) is readable by others.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Secret {
            path: path.to_path_buf(),
            reason,
        };
        if !path.exists() {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| bad(format!("no OS randomness: {e}")))?;
            let text = format!("{}\n", hex::encode(bytes));
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| bad(format!("cannot create {}: {e}", dir.display())))?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            let mut f = options
                .open(path)
                .map_err(|e| bad(format!("cannot create: {e}")))?;
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| bad(format!("cannot write: {e}")))?;
            tracing::info!(path = %path.display(), "created a new patient-key secret");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path)
                .map_err(|e| bad(e.to_string()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(bad(format!(
                    "readable by other users (mode {:o}); run `chmod 600 {}`",
                    mode & 0o777,
                    path.display()
                )));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let key = hex::decode(text.trim()).map_err(|_| bad("not hex".into()))?;
        if key.len() < 16 {
            return Err(bad(format!("{} bytes; at least 16 are needed", key.len())));
        }
        Ok(Self {
            key,
            path: path.to_path_buf(),
        })
    }

    /// A secret from bytes (tests, or secrets kept elsewhere).
    pub fn from_bytes(key: &[u8]) -> Self {
        Self {
            key: key.to_vec(),
            path: PathBuf::from("<memory>"),
        }
    }

    fn mac(&self, message: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes any key length");
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    /// The key of a patient: HMAC-SHA256 of the first non-empty of PatientID,
    /// PatientName and StudyInstanceUID (prefixed with which one it is).
    ///
    /// ```
    /// use medfen_tasks::{KeySource, PatientKeySecret};
    /// let s = PatientKeySecret::from_bytes(b"0123456789abcdef0123456789abcdef");
    /// let (k, source) = s.patient_key(Some("P001"), Some("DOE^JOHN"), "1.2.3").unwrap();
    /// assert_eq!(source, KeySource::PatientId);
    /// assert_eq!(k.len(), 64);
    /// assert_eq!(s.patient_key(Some(" P001 "), None, "9.9").unwrap().0, k);
    /// let other = PatientKeySecret::from_bytes(b"another secret of enough length");
    /// assert_ne!(other.patient_key(Some("P001"), None, "1.2.3").unwrap().0, k);
    /// ```
    pub fn patient_key<'a>(
        &self,
        id: Option<&'a str>,
        name: Option<&'a str>,
        study_uid: &'a str,
    ) -> Option<(String, KeySource)> {
        fn pick(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        let (source, value) = if let Some(v) = pick(id) {
            (KeySource::PatientId, v)
        } else if let Some(v) = pick(name) {
            (KeySource::PatientName, v)
        } else {
            (KeySource::StudyUid, pick(Some(study_uid))?)
        };
        let message = format!("{}\u{0}{value}", source.name());
        Some((self.mac(message.as_bytes()), source))
    }

    /// A short fingerprint of the secret (an HMAC of a constant), recorded in outputs
    /// so manifests made with different secrets are told apart.
    pub fn fingerprint(&self) -> String {
        self.mac(b"medfen secret fingerprint")[..16].to_string()
    }

    /// Where the secret lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
