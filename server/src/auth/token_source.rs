//! The token the service accepts: from the mounted Secret's file (re-read when it changes) or the
//! environment, held only as a SHA-256 digest, compared in constant time (`subtle`). To find the
//! token inside other text (the support bundle's redaction), its length and a 64-bit rolling
//! fingerprint are kept too: a window of text whose fingerprint matches is confirmed by digest.

use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The current token, as a digest, and its generation (bumped on every change).
#[derive(Debug)]
pub struct TokenSource {
    state: RwLock<Option<([u8; 32], u64)>>,
    /// The token's length in bytes and its rolling fingerprint ([`fingerprint`]).
    shape: RwLock<Option<(usize, u64)>>,
    file: Option<PathBuf>,
    /// The digest of the last token refused as too short, so it is reported once.
    refused: std::sync::Mutex<Option<[u8; 32]>>,
}

/// The rolling hash's base (a large odd number; arithmetic wraps, i.e. modulo 2^64).
const BASE: u64 = 0x100_0000_01b3;

/// A polynomial hash of `bytes`, rolled over windows by [`TokenSource::occurrences`].
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |h, b| {
        h.wrapping_mul(BASE).wrapping_add(u64::from(*b))
    })
}

fn shape(text: &str) -> (usize, u64) {
    let t = text.trim().as_bytes();
    (t.len(), fingerprint(t))
}

/// The shortest token `serve` accepts: 32 characters (`token ensure` makes 64 hex digits, 256
/// bits). A short operator-chosen token would make the per-address limit the only defence.
pub const MIN_TOKEN_LEN: usize = 32;

/// `Err` with the reason when `token` is too short to serve with.
pub fn strong_enough(token: &str) -> crate::Result<()> {
    let chars = token.trim().chars().count();
    if chars < MIN_TOKEN_LEN {
        return Err(crate::Error::WeakToken { chars });
    }
    Ok(())
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.trim().as_bytes()).into()
}

impl TokenSource {
    /// A token read from a file (the mounted Secret), re-read by [`TokenSource::watch`].
    pub fn from_file(path: PathBuf) -> std::io::Result<Arc<TokenSource>> {
        let text = std::fs::read_to_string(&path)?;
        let set = !text.trim().is_empty();
        Ok(Arc::new(TokenSource {
            state: RwLock::new(set.then(|| (digest(&text), 1))),
            shape: RwLock::new(set.then(|| shape(&text))),
            file: Some(path),
            refused: Default::default(),
        }))
    }

    /// A fixed token (environment); `None` or empty means no token.
    pub fn fixed(token: Option<&str>) -> Arc<TokenSource> {
        let token = token.filter(|t| !t.trim().is_empty());
        Arc::new(TokenSource {
            state: RwLock::new(token.map(|t| (digest(t), 1))),
            shape: RwLock::new(token.map(shape)),
            file: None,
            refused: Default::default(),
        })
    }

    /// Whether a token is configured.
    pub fn is_set(&self) -> bool {
        self.state.read().map(|s| s.is_some()).unwrap_or(false)
    }

    /// The generation of the current token (sessions of older generations are over).
    pub fn generation(&self) -> u64 {
        self.state
            .read()
            .ok()
            .and_then(|s| s.map(|(_, g)| g))
            .unwrap_or(0)
    }

    /// Constant-time comparison of digests; returns the token's generation on a match.
    pub fn verify(&self, candidate: &str) -> Option<u64> {
        let (want, generation) = (*self.state.read().ok()?)?;
        bool::from(want.ct_eq(&digest(candidate))).then_some(generation)
    }

    /// Where the token occurs in `text` (byte ranges, in order, not overlapping): every window of
    /// the token's length whose fingerprint matches, confirmed by digest. Linear in `text`.
    pub fn occurrences(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        // The digest and the shape as one: `watch` changes both under the state's write lock.
        let Ok(state) = self.state.read() else {
            return Vec::new();
        };
        let (Some((digest_want, _)), Some((len, want))) =
            (*state, self.shape.read().ok().and_then(|s| *s))
        else {
            return Vec::new();
        };
        drop(state);
        let bytes = text.as_bytes();
        if len == 0 || bytes.len() < len {
            return Vec::new();
        }
        // BASE^(len-1), to drop the byte leaving the window.
        let top = (1..len).fold(1u64, |p, _| p.wrapping_mul(BASE));
        let mut found = Vec::new();
        let mut h = fingerprint(&bytes[..len]);
        let mut start = 0;
        let mut free_from = 0; // no overlapping matches
        loop {
            if h == want && start >= free_from {
                let window = &bytes[start..start + len];
                let d: [u8; 32] = Sha256::digest(window).into();
                if d == digest_want {
                    found.push(start..start + len);
                    free_from = start + len;
                }
            }
            if start + len >= bytes.len() {
                break;
            }
            h = h
                .wrapping_sub(u64::from(bytes[start]).wrapping_mul(top))
                .wrapping_mul(BASE)
                .wrapping_add(u64::from(bytes[start + len]));
            start += 1;
        }
        // The token is text, so its occurrences start and end on character boundaries.
        found.retain(|r| text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
        found
    }

    /// Re-reads the token file every `every`; a changed token ends every session.
    pub async fn watch(self: Arc<Self>, every: Duration) {
        let Some(path) = self.file.clone() else {
            return;
        };
        loop {
            tokio::time::sleep(every).await;
            let Ok(text) = tokio::fs::read_to_string(&path).await else {
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            let new = digest(&text);
            if self
                .state
                .read()
                .is_ok_and(|s| s.map(|(d, _)| d) == Some(new))
            {
                continue;
            }
            if let Err(e) = strong_enough(&text) {
                let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
                if *refused != Some(new) {
                    *refused = Some(new);
                    tracing::error!(
                        "the token file {} changed, but {e}: the previous token stays in force",
                        path.display()
                    );
                }
                continue;
            }
            if let Ok(mut state) = self.state.write() {
                if state.map(|(d, _)| d) != Some(new) {
                    let generation = state.map(|(_, g)| g).unwrap_or(0) + 1;
                    *state = Some((new, generation));
                    if let Ok(mut s) = self.shape.write() {
                        *s = Some(shape(&text));
                    }
                    tracing::info!("the token changed: every session has ended");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_verification_and_generations() {
        let t = TokenSource::fixed(Some("correct horse\n"));
        assert_eq!(t.verify("correct horse"), Some(1));
        assert_eq!(t.verify("correct hors"), None);
        assert_eq!(t.verify(""), None);
        assert!(!TokenSource::fixed(Some("  ")).is_set());
        assert_eq!(TokenSource::fixed(None).verify("anything"), None);
    }

    #[test]
    fn the_token_is_found_inside_any_text() {
        let token = "5b1e0c9a7d3f2e8b4a6c1d9e0f7a3b5c";
        let t = TokenSource::fixed(Some(&format!("{token}\n")));
        for (text, at) in [
            (format!("x={token}"), vec![2]),
            (format!("pre-{token}-post"), vec![4]),
            (format!("/path/{token}&t={token}"), vec![6, 6 + 32 + 3]),
            (token.to_string(), vec![0]),
            (format!("{token}{token}"), vec![0, 32]),
            ("5b1e0c9a7d3f2e8b4a6c1d9e0f7a3b5".to_string(), vec![]),
            (format!("ünï{token}✔"), vec![5]),
        ] {
            let found: Vec<usize> = t.occurrences(&text).iter().map(|r| r.start).collect();
            assert_eq!(found, at, "{text}");
        }
        assert!(TokenSource::fixed(None).occurrences(token).is_empty());
    }

    #[test]
    fn short_tokens_are_not_strong_enough() {
        assert!(strong_enough(&"x".repeat(MIN_TOKEN_LEN)).is_ok());
        assert!(strong_enough(&format!("  {}\n", "x".repeat(MIN_TOKEN_LEN))).is_ok());
        let err = strong_enough("hunter2hunter2\n").unwrap_err().to_string();
        assert!(err.contains("14 characters") && err.contains("32"), "{err}");
    }

    #[tokio::test]
    async fn a_changed_token_file_bumps_the_generation() {
        let dir = std::env::temp_dir().join(format!("as-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        let (first, second) = ("1".repeat(MIN_TOKEN_LEN), "2".repeat(MIN_TOKEN_LEN));
        std::fs::write(&file, format!("{first}\n")).unwrap();
        let t = TokenSource::from_file(file.clone()).unwrap();
        assert_eq!(t.verify(&first), Some(1));
        tokio::spawn(t.clone().watch(Duration::from_millis(20)));
        // a token too short to serve with is not taken
        std::fs::write(&file, "short\n").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(t.verify(&first), Some(1));
        std::fs::write(&file, format!("{second}\n")).unwrap();
        let began = std::time::Instant::now();
        while t.verify(&second).is_none() {
            assert!(began.elapsed() < Duration::from_secs(5), "never re-read");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(t.verify(&first), None);
        assert_eq!(t.verify(&second), Some(2));
        let _ = std::fs::remove_dir_all(dir);
    }
}
