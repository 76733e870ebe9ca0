//! Server functions: the UI's only way to the data. On the server they read the published
//! document; nothing here computes status or talks to Kubernetes.

use crate::status::StatusDocument;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub mod ssr {
    //! What the server provides to server functions through Leptos context.
    use crate::status::StatusDocument;
    use std::sync::Arc;
    use tokio::sync::watch;

    /// A published document with its JSON and ETag, computed once per publish, not per request.
    #[derive(Debug)]
    pub struct Published {
        pub document: StatusDocument,
        pub json: String,
        pub etag: String,
    }

    impl Published {
        /// Serialises the document once.
        pub fn new(document: StatusDocument) -> Published {
            let json = serde_json::to_string(&document).unwrap_or_else(|e| {
                format!(r#"{{"error":"status document could not be serialised: {e}"}}"#)
            });
            let etag = format!("\"{:016x}\"", fnv1a(json.as_bytes()));
            Published {
                document,
                json,
                etag,
            }
        }
    }

    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
        })
    }

    /// A read-only handle on the latest published document, and on when the publisher last
    /// assessed (wall clock, milliseconds since the Unix epoch; 0 before the first): a document
    /// that did not change keeps its timestamp while assessments go on. Cloning it is cheap.
    #[derive(Clone, Debug)]
    pub struct StatusFeed(
        pub watch::Receiver<Arc<Published>>,
        pub Arc<std::sync::atomic::AtomicI64>,
    );

    impl StatusFeed {
        /// The latest published document.
        pub fn current(&self) -> Arc<Published> {
            self.0.borrow().clone()
        }

        /// When the publisher last assessed, changed or not.
        pub fn assessed_at(&self) -> Option<jiff::Timestamp> {
            let ms = self.1.load(std::sync::atomic::Ordering::Relaxed);
            (ms > 0)
                .then(|| jiff::Timestamp::from_millisecond(ms).ok())
                .flatten()
        }
    }
}

/// The latest status document.
#[server(endpoint = "status-document")]
pub async fn get_status() -> Result<StatusDocument, ServerFnError> {
    let feed = use_context::<ssr::StatusFeed>()
        .ok_or_else(|| ServerFnError::new("status feed is not available"))?;
    Ok(feed.current().document.clone())
}
