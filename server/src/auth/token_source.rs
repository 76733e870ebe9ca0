//! The token the service accepts: from the mounted Secret's file (re-read when it changes) or the
//! environment, held only as a SHA-256 digest, compared in constant time (`subtle`).

use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The current token, as a digest, and its generation (bumped on every change).
#[derive(Debug)]
pub struct TokenSource {
    state: RwLock<Option<([u8; 32], u64)>>,
    file: Option<PathBuf>,
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.trim().as_bytes()).into()
}

impl TokenSource {
    /// A token read from a file (the mounted Secret), re-read by [`TokenSource::watch`].
    pub fn from_file(path: PathBuf) -> std::io::Result<Arc<TokenSource>> {
        let text = std::fs::read_to_string(&path)?;
        let state = (!text.trim().is_empty()).then(|| (digest(&text), 1));
        Ok(Arc::new(TokenSource {
            state: RwLock::new(state),
            file: Some(path),
        }))
    }

    /// A fixed token (environment); `None` or empty means no token.
    pub fn fixed(token: Option<&str>) -> Arc<TokenSource> {
        let state = token
            .filter(|t| !t.trim().is_empty())
            .map(|t| (digest(t), 1));
        Arc::new(TokenSource {
            state: RwLock::new(state),
            file: None,
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
            if let Ok(mut state) = self.state.write() {
                if state.map(|(d, _)| d) != Some(new) {
                    let generation = state.map(|(_, g)| g).unwrap_or(0) + 1;
                    *state = Some((new, generation));
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

    #[tokio::test]
    async fn a_changed_token_file_bumps_the_generation() {
        let dir = std::env::temp_dir().join(format!("as-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "first\n").unwrap();
        let t = TokenSource::from_file(file.clone()).unwrap();
        assert_eq!(t.verify("first"), Some(1));
        tokio::spawn(t.clone().watch(Duration::from_millis(20)));
        std::fs::write(&file, "second\n").unwrap();
        let began = std::time::Instant::now();
        while t.verify("second").is_none() {
            assert!(began.elapsed() < Duration::from_secs(5), "never re-read");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(t.verify("first"), None);
        assert_eq!(t.verify("second"), Some(2));
        let _ = std::fs::remove_dir_all(dir);
    }
}
