//! Release manifests (PRD AC7) as data: `release.json` (`releaseVersion`, `generatedAt`,
//! `channel`, `app{version, releaseBranch, valuesProfile, images{…}}`) parsed, each image planned
//! from the catalog's repository for its key, what the registry said (`crate::images`) and the
//! verdict; what the service knows of the selected release's images (`ReleaseCheck`, read by the
//! engine). Asking a registry is the service's (`server/src/registry.rs`, `release.rs`).

use crate::catalog::Catalog;
pub use crate::images::{ImageCheck, ReleaseCheck};
use crate::images::{ImageRef, Outcome};
use crate::{Error, Result};
use app::status::Tier;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The largest release manifest read (real ones are under 1 KiB).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// `release.json`, as the appliance's release pipeline writes it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseManifest {
    pub release_version: String,
    #[serde(default)]
    pub generated_at: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    pub app: App,
}

/// `app` of `release.json`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub version: String,
    #[serde(default)]
    pub release_branch: Option<String>,
    #[serde(default)]
    pub values_profile: Option<String>,
    /// Short commit tags by key (`algaCore`, `workflowWorker`, …), 7 or 8 characters.
    pub images: BTreeMap<String, String>,
}

/// One image to check: where it comes from and what it blocks.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    /// `app.images.<key>`.
    pub key: String,
    pub image: ImageRef,
    pub component: String,
    /// A missing image blocks login (alga-core), not only the background.
    pub login_critical: bool,
}

/// Parses `release.json`; errors name the line and column, or the field.
pub fn parse(text: &str) -> Result<ReleaseManifest> {
    let manifest: ReleaseManifest = serde_json::from_str(text).map_err(Error::ReleaseManifest)?;
    if manifest.release_version.trim().is_empty() {
        return Err(Error::NoReleaseVersion);
    }
    Ok(manifest)
}

/// The images of `manifest`, each from the catalog's repository for its key; an error names the
/// field that does not make an image reference, or a key the catalog does not know.
pub fn plan(manifest: &ReleaseManifest, catalog: &Catalog) -> Result<Vec<Planned>> {
    let out = manifest
        .app
        .images
        .iter()
        .map(|(key, tag)| planned(catalog, key, tag))
        .collect::<Result<Vec<_>>>()?;
    for key in catalog.release.images.keys() {
        if !manifest.app.images.contains_key(key) {
            return Err(Error::ReleaseImageMissing { key: key.clone() });
        }
    }
    Ok(out)
}

/// The image `app.images.<key>` = `tag` names, with the component that runs it.
fn planned(catalog: &Catalog, key: &str, tag: &str) -> Result<Planned> {
    let source = catalog
        .release
        .images
        .get(key)
        .ok_or_else(|| Error::ReleaseImageUnknown {
            key: key.to_string(),
            known: catalog.release.images.keys().cloned().collect(),
        })?;
    let image = ImageRef::new(&source.repository, tag.trim()).map_err(|e| Error::ReleaseImage {
        key: key.to_string(),
        error: Box::new(e),
    })?;
    let tier = catalog
        .component(&source.component)
        .map(|c| c.tier)
        .unwrap_or(Tier::Background);
    Ok(Planned {
        key: key.to_string(),
        image,
        component: source.component.clone(),
        login_critical: tier <= Tier::Login,
    })
}

/// One image checked.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    #[serde(flatten)]
    pub planned: Planned,
    pub reference: String,
    pub result: Outcome,
}

/// The verdict over all images, worst first: something missing, unauthorized, unreachable, all
/// present.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    AllPresent,
    Missing,
    Unauthorized,
    CouldNotCheck,
}

pub fn verdict(checked: &[Checked]) -> Verdict {
    let any = |f: fn(&Outcome) -> bool| checked.iter().any(|c| f(&c.result));
    if any(|o| matches!(o, Outcome::TagMissing | Outcome::RepositoryNotFound)) {
        Verdict::Missing
    } else if any(|o| matches!(o, Outcome::Unauthorized { .. })) {
        Verdict::Unauthorized
    } else if any(|o| matches!(o, Outcome::Unreachable { .. })) {
        Verdict::CouldNotCheck
    } else {
        Verdict::AllPresent
    }
}

/// The report for people.
pub fn render_text(manifest: &ReleaseManifest, checked: &[Checked]) -> String {
    let mut out = format!(
        "Release {} (app {}{})\n",
        manifest.release_version,
        manifest.app.version,
        manifest
            .channel
            .as_deref()
            .map(|c| format!(", channel {c}"))
            .unwrap_or_default()
    );
    for c in checked {
        let mark = match c.result {
            Outcome::Present { .. } => "ok     ",
            Outcome::TagMissing | Outcome::RepositoryNotFound => "MISSING",
            _ => "UNKNOWN",
        };
        out.push_str(&format!(
            "  {mark} {} ({}, {}): {}\n",
            c.reference,
            c.planned.component,
            if c.planned.login_critical {
                "blocks login"
            } else {
                "background"
            },
            c.result.describe()
        ));
    }
    out.push_str(match verdict(checked) {
        Verdict::AllPresent => "Every image exists.\n",
        Verdict::Missing => "Some images do not exist: publish them, or select another release.\n",
        Verdict::Unauthorized => {
            "The registry refused some checks: give credentials (--registry-config).\n"
        }
        Verdict::CouldNotCheck => {
            "Some images could not be checked: the registry is unreachable.\n"
        }
    });
    out
}

/// The images the selection ConfigMap names: `<key>Tag` for each of the catalog's image keys
/// (`algaCoreTag`, `workflowWorkerTag`, …). Empty when the ConfigMap or its tags are absent; an
/// unparsable tag is skipped (the pods' pull errors will say it).
pub fn from_selection(snapshot: &crate::snapshot::Snapshot, catalog: &Catalog) -> Vec<Planned> {
    let Some(r) = &catalog.release.selection else {
        return Vec::new();
    };
    let Some(data) = snapshot
        .config_maps
        .get(&(r.namespace.clone(), r.name.clone()))
        .and_then(|cm| cm.data.as_ref())
    else {
        return Vec::new();
    };
    // Keys the ConfigMap leaves out are not checked; a tag that does not parse is skipped (the
    // pods' pull errors will say it).
    catalog
        .release
        .images
        .keys()
        .filter_map(|key| {
            let tag = data.get(&format!("{key}Tag"))?;
            planned(catalog, key, tag).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The release manifest the integration tests use too.
    const RC5: &str = include_str!("../../server/tests/fixtures/release-1.0-rc5.json");

    #[test]
    fn a_release_plans_every_image_with_what_it_blocks() {
        let planned = plan(&parse(RC5).unwrap(), &Catalog::embedded()).unwrap();
        assert_eq!(planned.len(), 4);
        let core = planned.iter().find(|p| p.key == "algaCore").unwrap();
        assert_eq!(
            core.image.to_string(),
            "ghcr.io/nine-minds/alga-psa-ee:61e4a00e"
        );
        assert!(core.login_critical);
        let email = planned.iter().find(|p| p.key == "emailService").unwrap();
        assert_eq!(
            email.image.to_string(),
            "ghcr.io/nine-minds/email-service:979e207"
        );
        assert!(!email.login_critical);
    }

    #[test]
    fn bad_manifests_name_the_line_or_the_field() {
        let err = parse("{\n  \"releaseVersion\": \"1.0\",\n  \"app\": {\"version\": 1}\n}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        let err = parse(r#"{"releaseVersion": "1.0"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `app`"), "{err}");
        let catalog = Catalog::embedded();
        let bad_tag = RC5.replace("\"979e207\"", "\"979e 207\"");
        let err = plan(&parse(&bad_tag).unwrap(), &catalog).unwrap_err();
        assert!(
            matches!(&err, Error::ReleaseImage { key, .. } if key == "emailService"),
            "{err}"
        );
        let err = err.to_string();
        assert!(err.starts_with("app.images.emailService:"), "{err}");
        let unknown = RC5.replace("\"emailService\"", "\"mailer\"");
        let err = plan(&parse(&unknown).unwrap(), &catalog)
            .unwrap_err()
            .to_string();
        assert!(err.contains("app.images.mailer"), "{err}");
        let missing = RC5.replace(", \"temporalWorker\": \"61e4a00e\"", "");
        let err = plan(&parse(&missing).unwrap(), &catalog)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("app.images.temporalWorker is missing"),
            "{err}"
        );
    }
}
