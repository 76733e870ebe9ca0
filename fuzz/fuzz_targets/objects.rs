//! The object reader behind `assess`: YAML or JSON, one object, a `List`, many documents.
//! Whatever the bytes, it returns objects or a clear error, and what it returns applies to a
//! snapshot without a panic.
#![no_main]

use appliance_status::objects::parse_documents;
use appliance_status::snapshot::Snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_documents(&text, "fuzz") {
        Ok(parsed) => {
            let mut snapshot = Snapshot::default();
            for object in parsed.objects {
                snapshot.apply(object);
            }
            let _ = parsed.ignored.summary();
        }
        Err(e) => assert!(!e.to_string().is_empty(), "an error says what is wrong"),
    }
});
