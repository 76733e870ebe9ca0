//! The house in layers, checked: the engine crate depends on no runtime, network or Kubernetes
//! client, and inside each crate no module imports another that imports it back, directly or
//! through others (a module is a top-level file or folder of `src/`; `crate::x` paths outside
//! `#[cfg(test)]` modules count).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crates the engine may depend on: the contract, serde, time, Kubernetes' types.
pub const ENGINE_MAY_USE: [&str; 7] = [
    "app",
    "serde",
    "serde_json",
    "serde_yaml",
    "jiff",
    "thiserror",
    "k8s-openapi",
];

/// Module → the modules of the same crate it imports, from the source text of each file
/// (path relative to `src/`, text).
pub fn imports(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in files {
        let first = path.split('/').next().unwrap_or(path);
        let module = first.trim_end_matches(".rs");
        // test-only modules (`tests.rs`, the engine's `testkit.rs`) may reach anywhere
        if path.ends_with("tests.rs") || path.ends_with("testkit.rs") || path.contains("/tests/") {
            continue;
        }
        let module = match module {
            "lib" | "main" => "(root)",
            m => m,
        };
        // code outside test modules, comments left out
        let code: String = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or(text)
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let entry = graph.entry(module.to_string()).or_default();
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                entry.insert(name);
            }
        }
    }
    // only modules of this crate
    let known: BTreeSet<String> = graph.keys().cloned().collect();
    for targets in graph.values_mut() {
        targets.retain(|t| known.contains(t));
    }
    graph
}

/// The groups of modules that import each other (each a cycle), smallest names first.
pub fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // reachability: a and b are in one cycle when each reaches the other
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|m| (m, reach(m))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for m in graph.keys() {
        if !reaches[m].contains(m) || out.iter().any(|c| c.contains(m)) {
            continue;
        }
        let group: Vec<String> = graph
            .keys()
            .filter(|o| reaches[m].contains(*o) && reaches[*o].contains(m))
            .cloned()
            .collect();
        out.push(group);
    }
    out
}

/// Every `.rs` file under `src`, as (path relative to `src`, text).
pub fn sources(src: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut todo = vec![src.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap_or(&path);
                out.push((
                    rel.to_string_lossy().into_owned(),
                    std::fs::read_to_string(&path)?,
                ));
            }
        }
    }
    Ok(out)
}

/// The `[dependencies]` of a Cargo.toml, by name.
pub fn dependencies(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            if let Some(name) = line.split(['=', '.', ' ']).next() {
                out.push(name.trim().to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        crate::project_root()
    }

    #[test]
    fn no_module_imports_one_that_imports_it_back() {
        for krate in ["engine", "server"] {
            let graph = imports(&sources(&root().join(krate).join("src")).unwrap());
            assert!(graph.len() > 10, "{krate}: {} modules read", graph.len());
            assert_eq!(cycles(&graph), Vec::<Vec<String>>::new(), "{krate}");
        }
    }

    #[test]
    fn the_engine_depends_on_no_runtime_network_or_client() {
        let manifest = std::fs::read_to_string(root().join("engine/Cargo.toml")).unwrap();
        let deps = dependencies(&manifest);
        assert!(deps.contains(&"k8s-openapi".to_string()), "{deps:?}");
        for d in &deps {
            assert!(ENGINE_MAY_USE.contains(&d.as_str()), "the engine uses {d}");
        }
    }

    #[test]
    fn a_cycle_is_found_however_long() {
        let files = vec![
            ("a.rs".to_string(), "use crate::b::X;".to_string()),
            (
                "b/mod.rs".to_string(),
                "fn f() { crate::c::g() }".to_string(),
            ),
            (
                "c.rs".to_string(),
                "use crate::a;\n#[cfg(test)]\nmod tests { use crate::d; }".to_string(),
            ),
            ("d.rs".to_string(), "use crate::c;".to_string()),
            ("lib.rs".to_string(), "pub mod a;".to_string()),
        ];
        let graph = imports(&files);
        assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
        assert_eq!(
            dependencies("[package]\nname = \"x\"\n[dependencies]\napp.workspace = true\ntokio = \"1\"\n[dev-dependencies]\nproptest = \"1\"\n"),
            ["app", "tokio"]
        );
    }
}
