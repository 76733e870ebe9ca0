//! The repository stands alone: no tracked file names a path outside it. A clone in an empty
//! directory must build and pass its tests, so nothing may read, build from or point to what
//! happens to lie beside the checkout.
//!
//! Two rules, over every tracked text file:
//! - a relative path that climbs (`../…`) must land inside the repository on something that
//!   exists, resolved from the file's own folder or one of its ancestors up to the root (a crate
//!   resolves `CARGO_MANIFEST_DIR` paths from its own folder, a script from its own);
//! - the folder of team documents that sits beside the checkout on our machines is never named by
//!   its sub-folders (its spec, fixtures, design notes and hooks), with or without `../`.
//!
//! A line that mentions such a string on purpose without meaning a path (a test's hostile input)
//! carries the marker `standalone: not a path`. This file itself is not scanned: its tests are
//! made of such strings, and they check the rules above on them.

use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// The marker that exempts one line.
pub const NOT_A_PATH: &str = "standalone: not a path";

/// This checker's own source, whose tests are examples of what it refuses.
const SELF: &str = "testenv/src/standalone.rs";

/// One reference to something outside the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escape {
    pub file: String,
    pub line: usize,
    pub text: String,
}

impl std::fmt::Display for Escape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.text)
    }
}

/// The repository's files: what git tracks, or (outside a git checkout, e.g. an unpacked source
/// archive) every file below `root` except build output and dependencies.
pub fn tracked_files(root: &Path) -> Result<Vec<String>> {
    if root.join(".git").exists() {
        let out = Command::new("git")
            .args(["ls-files", "-z"])
            .current_dir(root)
            .output()
            .context("running git ls-files")?;
        if !out.status.success() {
            bail!("git ls-files: {}", String::from_utf8_lossy(&out.stderr));
        }
        return Ok(String::from_utf8(out.stdout)?
            .split('\0')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect());
    }
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                dirs.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                files.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every escape in the repository at `root`.
pub fn check_repository(root: &Path) -> Result<Vec<Escape>> {
    let files = tracked_files(root)?;
    let known: BTreeSet<PathBuf> = files.iter().map(PathBuf::from).collect();
    let exists = |p: &Path| known.contains(p) || root.join(p).exists();
    let mut escapes = Vec::new();
    for file in files.iter().filter(|f| *f != SELF) {
        let Ok(bytes) = std::fs::read(root.join(file)) else {
            continue; // listed by git but deleted in the work tree
        };
        if bytes.len() > 4 << 20 || bytes.contains(&0) {
            continue; // binary (screenshots) or generated data
        }
        let text = String::from_utf8_lossy(&bytes);
        escapes.extend(check_file(file, &text, &exists));
    }
    Ok(escapes)
}

/// The escapes in one file (`file` relative to the root), `exists` telling which relative paths
/// the repository has.
pub fn check_file(file: &str, text: &str, exists: &dyn Fn(&Path) -> bool) -> Vec<Escape> {
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let mut escapes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.contains(NOT_A_PATH) {
            continue;
        }
        let mut found = |t: &str| {
            escapes.push(Escape {
                file: file.to_string(),
                line: i + 1,
                text: t.to_string(),
            })
        };
        for token in climbing_paths(line) {
            if !lands_inside(dir, token, exists) {
                found(token);
            }
        }
        for name in beside_names() {
            if line.contains(&name) {
                found(&name);
            }
        }
    }
    escapes
}

/// `shared/spec/`, `shared/fixtures/`, … written so that this file does not name them itself.
fn beside_names() -> Vec<String> {
    let folder = ["sha", "red/"].concat();
    ["spec/", "fixtures/", "design/", "hooks/"]
        .iter()
        .map(|sub| format!("{folder}{sub}"))
        .collect()
}

/// The path-like tokens of `line` that contain `../`.
fn climbing_paths(line: &str) -> Vec<&str> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "._-/$*{}<>".contains(c);
    let mut tokens = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("../") {
        let start = rest[..at]
            .char_indices()
            .rev()
            .find(|(_, c)| !is_path_char(*c))
            .map_or(0, |(p, c)| p + c.len_utf8());
        let end = rest[at..]
            .find(|c: char| !is_path_char(c))
            .map_or(rest.len(), |p| at + p);
        tokens.push(rest[start..end].trim_start_matches('/'));
        rest = &rest[end..];
    }
    tokens
}

/// Whether `token` (`../../x/y`, perhaps after a prefix such as `./`) resolves, from `dir` or
/// one of its ancestors, to something inside the repository that exists. What follows a
/// template character (`$`, `*`, `{`, `<`) is not checked, only the climb before it.
fn lands_inside(dir: &Path, token: &str, exists: &dyn Fn(&Path) -> bool) -> bool {
    let mut token = token.trim_end_matches([',', ':', ';']);
    if token.ends_with('.') && !token.ends_with("..") {
        token = &token[..token.len() - 1]; // a sentence's full stop
    }
    if let Some(p) = token.find(['$', '*', '{', '<', '>', '}']) {
        // only the folders before the template: `../${name}.rs` is `../`
        token = token[..p].rfind('/').map_or("", |slash| &token[..=slash]);
    }
    let mut base = Some(dir);
    while let Some(b) = base {
        match resolve(b, token) {
            Some(target) if target.as_os_str().is_empty() || exists(&target) => return true,
            _ => base = b.parent(),
        }
    }
    false
}

/// `base/token` normalised, or `None` when it climbs above the root.
fn resolve(base: &Path, token: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = base
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    for part in token.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p.to_string()),
        }
    }
    Some(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(file: &str, text: &str) -> Vec<String> {
        let files = [
            "server/corpus/01-fully-healthy/dump.yaml",
            "server/src/lib.rs",
            "scripts/env.sh",
            "app/Cargo.toml",
        ];
        let exists = |p: &Path| {
            files
                .iter()
                .any(|f| Path::new(f) == p || Path::new(f).starts_with(p))
        };
        check_file(file, text, &exists)
            .into_iter()
            .map(|e| format!("{}:{}", e.line, e.text))
            .collect()
    }

    #[test]
    fn paths_that_climb_out_or_name_nothing_are_escapes() {
        let outside = ["..", "/shared/spec/PRD.md"].concat();
        let text = format!(
            "let x = Path::new(env!(\"CARGO_MANIFEST_DIR\")).join(\"../{outside}\");\nsee ../../../elsewhere/file\n"
        );
        let found = check("app/src/status.rs", &text);
        assert_eq!(found.len(), 3, "{found:?}"); // the climb, and the folder's name
        assert!(found[0].starts_with("1:../../shared"), "{found:?}");
        assert!(found.iter().any(|f| f.starts_with("2:../../../elsewhere")));
        // inside the repository but naming nothing that exists
        assert_eq!(
            check("server/src/x.rs", "include_str!(\"../missing.txt\")"),
            ["1:../missing.txt"]
        );
    }

    #[test]
    fn paths_that_land_on_the_repositorys_own_files_pass() {
        assert!(check(
            "engine/src/assess/tests.rs",
            "include_str!(\"../../../server/corpus/01-fully-healthy/dump.yaml\")"
        )
        .is_empty());
        assert!(check(
            "testing/apiserver/build.sh",
            "source \"$(dirname \"${BASH_SOURCE[0]}\")/../../scripts/env.sh\""
        )
        .is_empty());
        // resolved from an ancestor: a crate's manifest folder
        assert!(check("fuzz/Cargo.toml", "app = { path = \"../app\" }").is_empty());
        // a template after the climb: only the climb is checked
        assert!(check("server/src/x.rs", "\"../${name}.rs\" ../*.yaml").is_empty());
        assert!(check(
            "docs/ARCHITECTURE.md",
            "a sentence ending in ../server/src/lib.rs."
        )
        .is_empty());
        // typographic quotes around a path: checked, never a panic
        assert!(check("docs/ARCHITECTURE.md", "see “../server/src/lib.rs”").is_empty());
        assert_eq!(check("docs/ARCHITECTURE.md", "see “../nowhere”").len(), 1);
    }

    #[test]
    fn the_folder_beside_is_never_named_and_the_marker_exempts_a_line() {
        let name = ["sha", "red/fixtures/crds"].concat();
        assert_eq!(
            check("README.md", &format!("CRDs from {name}")),
            [format!("1:{}", ["sha", "red/fixtures/"].concat())]
        );
        assert!(check(
            "server/src/token.rs",
            &format!("for bad in [\"../etc\"] {{ // {NOT_A_PATH}")
        )
        .is_empty());
        assert_eq!(
            check("server/src/token.rs", "for bad in [\"../etc\"]").len(),
            1
        );
    }

    /// The repository itself: nothing tracked names a path outside it.
    #[test]
    fn the_repository_names_nothing_outside_itself() {
        let root = crate::project_root();
        let files = tracked_files(&root).unwrap();
        assert!(files.len() > 100, "only {} files listed", files.len());
        assert!(
            files.iter().any(|f| f == SELF),
            "{SELF} is where this test expects it"
        );
        let escapes = check_repository(&root).unwrap();
        assert!(
            escapes.is_empty(),
            "files naming paths outside the repository:\n{}",
            escapes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
