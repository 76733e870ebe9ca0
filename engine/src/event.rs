//! The compact event record: what the engine reads of a Kubernetes Event, and nothing else.
//!
//! A `k8s-openapi` `Event` costs about 2 KiB once stored (an `ObjectMeta` and an
//! `ObjectReference` of optional strings, each its own allocation). The snapshot keeps this record
//! instead: the words that repeat across thousands of events (kinds, namespaces, reasons, types)
//! are shared [`Atom`]s, the rest is one allocation per string, and the times the engine asks for
//! (first and last occurrence) are worked out once, on the way in. So the service can keep every
//! event the API server holds (docs/BENCHMARKS.md has the figure at 20,000).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

/// The longest message kept from any object; longer ones are cut with a marker.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Cuts a message to [`MAX_MESSAGE_BYTES`] on a character boundary.
pub fn bound_message(message: &mut String) {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str(" …[truncated]");
    }
}

/// A shared string: one allocation for every event with the same reason, kind or namespace.
pub type Atom = Arc<str>;

/// Distinct words shared at most; beyond this (a cluster inventing reasons), words are copied.
const MAX_ATOMS: usize = 4096;

static ATOMS: LazyLock<Mutex<HashSet<Atom>>> = LazyLock::new(Mutex::default);

/// The shared copy of `word`.
pub fn atom(word: &str) -> Atom {
    let Ok(mut atoms) = ATOMS.lock() else {
        return Atom::from(word);
    };
    if let Some(a) = atoms.get(word) {
        return a.clone();
    }
    let a = Atom::from(word);
    if atoms.len() < MAX_ATOMS {
        atoms.insert(a.clone());
    }
    a
}

/// The object an event is about (`involvedObject`, or `regarding` in `events.k8s.io/v1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventObject {
    /// Empty when the event does not say.
    pub kind: Atom,
    pub namespace: Atom,
    pub name: Box<str>,
}

impl EventObject {
    /// The namespace, if the object has one (nodes do not).
    pub fn namespace(&self) -> Option<&str> {
        Some(&*self.namespace).filter(|n| !n.is_empty())
    }
}

/// One Kubernetes Event, as the engine reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub namespace: Atom,
    pub name: Box<str>,
    pub object: EventObject,
    /// `Normal` or `Warning` (`Normal` when absent, as the API server defaults it).
    pub event_type: Atom,
    /// Empty when absent.
    pub reason: Atom,
    /// Bounded like every message the service keeps ([`MAX_MESSAGE_BYTES`]).
    pub message: Box<str>,
    /// How many times it happened, at least 1.
    pub count: u32,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl EventRecord {
    /// About how much memory the record takes with its key in the snapshot (its own strings,
    /// the shared words counted once elsewhere): what the event byte budget adds up.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + 2 * self.name.len()
            + self.message.len()
            + self.object.name.len()
            + 64
    }

    /// When it last happened: the series' last observation, else `lastTimestamp`, `eventTime`,
    /// and the object's creation, in that order.
    pub fn last_time(&self) -> Option<Timestamp> {
        self.last
    }

    /// When it first happened: `firstTimestamp`, else `eventTime`, else [`Self::last_time`].
    pub fn first_time(&self) -> Option<Timestamp> {
        self.first
    }

    /// The reason, if the event has one.
    pub fn reason(&self) -> Option<&str> {
        Some(&*self.reason).filter(|r| !r.is_empty())
    }

    /// The message, if the event has one.
    pub fn message(&self) -> Option<&str> {
        Some(&*self.message).filter(|m| !m.is_empty())
    }

    /// A `Warning` event.
    pub fn is_warning(&self) -> bool {
        &*self.event_type == "Warning"
    }

    /// The map key: (namespace, name).
    pub fn key(&self) -> (String, String) {
        (self.namespace.to_string(), self.name.to_string())
    }
}

impl From<Event> for EventRecord {
    fn from(e: Event) -> EventRecord {
        let last = e
            .series
            .as_ref()
            .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
            .or(e.last_timestamp.as_ref().map(|t| t.0))
            .or(e.event_time.as_ref().map(|t| t.0))
            .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0));
        let first = e
            .first_timestamp
            .as_ref()
            .map(|t| t.0)
            .or(e.event_time.as_ref().map(|t| t.0))
            .or(last);
        let mut message = e.message.unwrap_or_default();
        bound_message(&mut message);
        let o = e.involved_object;
        EventRecord {
            namespace: atom(e.metadata.namespace.as_deref().unwrap_or("")),
            name: e.metadata.name.unwrap_or_default().into(),
            object: EventObject {
                kind: atom(o.kind.as_deref().unwrap_or("")),
                namespace: atom(o.namespace.as_deref().unwrap_or("")),
                name: o.name.unwrap_or_default().into(),
            },
            event_type: atom(e.type_.as_deref().unwrap_or("Normal")),
            reason: atom(e.reason.as_deref().unwrap_or("")),
            message: message.into(),
            count: e.count.unwrap_or(1).max(1) as u32,
            first,
            last,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(yaml: &str) -> EventRecord {
        EventRecord::from(serde_yaml::from_str::<Event>(yaml).unwrap())
    }

    #[test]
    fn times_come_from_the_fields_the_api_server_fills() {
        let core = event(
            "metadata: {name: e, namespace: msp, creationTimestamp: '2026-04-30T01:00:00Z'}\n\
             involvedObject: {kind: Pod, namespace: msp, name: p}\n\
             firstTimestamp: '2026-04-30T01:01:00Z'\nlastTimestamp: '2026-04-30T01:05:00Z'\n",
        );
        assert_eq!(
            core.first_time(),
            Some("2026-04-30T01:01:00Z".parse().unwrap())
        );
        assert_eq!(
            core.last_time(),
            Some("2026-04-30T01:05:00Z".parse().unwrap())
        );
        let series = event(
            "metadata: {name: e, namespace: msp}\ninvolvedObject: {name: p}\n\
             eventTime: '2026-04-30T01:00:00.000000Z'\n\
             series: {count: 4, lastObservedTime: '2026-04-30T01:09:00.000000Z'}\n",
        );
        assert_eq!(
            series.first_time(),
            Some("2026-04-30T01:00:00Z".parse().unwrap())
        );
        assert_eq!(
            series.last_time(),
            Some("2026-04-30T01:09:00Z".parse().unwrap())
        );
        let bare = event(
            "metadata: {name: e, namespace: msp, creationTimestamp: '2026-04-30T01:00:00Z'}\n\
             involvedObject: {}\n",
        );
        assert_eq!(bare.first_time(), bare.last_time());
        assert!(bare.last_time().is_some());
    }

    #[test]
    fn absent_fields_read_as_the_api_server_defaults_them() {
        let e = event("metadata: {name: e, namespace: msp}\ninvolvedObject: {}\ncount: 0\n");
        assert_eq!(&*e.event_type, "Normal");
        assert!(!e.is_warning());
        assert_eq!(&*e.reason, "");
        assert_eq!(&*e.object.kind, "");
        assert_eq!(e.count, 1);
        assert_eq!(e.key(), ("msp".to_string(), "e".to_string()));
    }

    #[test]
    fn repeated_words_are_shared_and_messages_bounded() {
        let yaml = |name: &str| {
            format!(
                "metadata: {{name: {name}, namespace: msp}}\ntype: Warning\nreason: BackOff\n\
                 involvedObject: {{kind: Pod, namespace: msp, name: p}}\nmessage: {}\n",
                "x".repeat(100_000)
            )
        };
        let (a, b) = (event(&yaml("a")), event(&yaml("b")));
        assert!(Arc::ptr_eq(&a.reason, &b.reason));
        assert!(Arc::ptr_eq(&a.object.kind, &b.object.kind));
        assert!(a.is_warning());
        assert!(a.message.len() <= MAX_MESSAGE_BYTES + 64);
    }
}
