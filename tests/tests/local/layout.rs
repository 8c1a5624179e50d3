//! The domain crate keeps the layout it was given (docs/decisions.md, "Where things live"):
//!
//! - no `use` cycle between its modules: neither between its top-level modules (kernel,
//!   capabilities, assembly) nor between sibling modules inside one folder, so every capability
//!   can be read, and moved, from the bottom up;
//! - no import from a layer above ([`LAYERS`]: the kernel, the capabilities in their order, the
//!   assembly), whether by a path, a root re-export (`crate::Config`) or an exported macro;
//! - no source file over [`MAX_LINES`] lines outside tests and fixtures (a trailing
//!   `#[cfg(test)]` module does not count), except the ones in [`LONG_FILES`], each with its
//!   reason; an exception that is no longer needed fails too, so the list stays true.
//!
//! The sources are parsed as Rust (`syn`), so comments, strings and doc links are not imports,
//! and every path counts: `use` trees, types, calls and macros.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// The longest a source file may be.
const MAX_LINES: usize = 400;

/// Source files allowed to be longer, and why.
const LONG_FILES: &[(&str, &str)] = &[(
    "infra/lib/kindling-stack.ts",
    "one CDK stack: its resources refer to each other (tables, functions, rules, routes, alarms \
     and their grants); split into constructs when a second stack shares them",
)];

/// The domain crate's layers, bottom up (docs/decisions.md, "Where things live"; `lib.rs` lists
/// the same): the kernel, the capabilities in their order, the assembly. A module may name
/// modules of its own layer or below, never above; the kernel's modules share one layer.
const LAYERS: &[&[&str]] = &[
    &[
        "ids", "names", "error", "email", "message", "token", "diag", "program", "fasthash",
        "offset", "ports", "system", "web", "events", "testing",
    ],
    &["activities"],
    &["leads"],
    &["sending"],
    &["tracking"],
    &["segments"],
    &["triggers"],
    &["deliverability"],
    &["dispatch"],
    &["broadcasts"],
    &["sequences"],
    &["routing"],
    &["scoring"],
    &["alerts"],
    &["forms"],
    &["kpis"],
    &["crm"],
    &["config"],
    &["app"],
    &["admin"],
    &["router"],
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A module path inside the crate: `[]` for the root, `["sequences", "plan"]`.
type ModPath = Vec<String>;

/// Every module of a crate, from its files, with the paths each one names.
struct Crate {
    /// Module -> (file, the absolute paths it names).
    modules: BTreeMap<ModPath, (PathBuf, Vec<ModPath>)>,
}

fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

/// Collects the paths a module names, resolved to absolute module paths.
struct Names<'a> {
    here: &'a ModPath,
    found: Vec<ModPath>,
}

impl Names<'_> {
    fn resolve(&mut self, segments: &[String]) {
        let Some(first) = segments.first() else {
            return;
        };
        let mut base: ModPath = match first.as_str() {
            "crate" => Vec::new(),
            "super" => {
                let mut b = self.here.clone();
                b.pop();
                b
            }
            "self" => self.here.clone(),
            _ => return,
        };
        let mut rest = &segments[1..];
        while rest.first().is_some_and(|s| s == "super") {
            base.pop();
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        self.found.push(base);
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.resolve(prefix);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.resolve(prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.resolve(prefix),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Names<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !is_cfg_test(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve(&segments);
        syn::visit::visit_path(self, p);
    }
}

impl Crate {
    /// Reads every `.rs` file under `src` except test modules (`tests.rs`, `tests/`).
    fn read(src: &Path) -> Crate {
        let mut files = Vec::new();
        walk(src, &mut files);
        let mut modules = BTreeMap::new();
        for file in files {
            let here = module_of(src, &file);
            if here.iter().any(|p| p == "tests") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let mut names = Names {
                here: &here,
                found: Vec::new(),
            };
            names.visit_file(&ast);
            let found = names.found;
            modules.insert(here, (file, found));
        }
        Crate { modules }
    }

    /// Edges between sibling modules (children of one parent, the crate root included): `a`
    /// names something in `b` or below. A parent naming its children, or a child its parent,
    /// is no edge.
    fn sibling_edges(&self) -> BTreeMap<ModPath, BTreeMap<ModPath, PathBuf>> {
        let mut edges: BTreeMap<ModPath, BTreeMap<ModPath, PathBuf>> = BTreeMap::new();
        for (from, (file, names)) in &self.modules {
            for to in names {
                let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
                if common >= from.len() || common >= to.len() {
                    continue;
                }
                let a: ModPath = from[..=common].to_vec();
                let b: ModPath = to[..=common].to_vec();
                if self.modules.contains_key(&b) {
                    edges
                        .entry(a)
                        .or_default()
                        .entry(b)
                        .or_insert_with(|| file.clone());
                }
            }
        }
        edges
    }

    /// Every cycle (a strongly connected component of more than one module), each with the
    /// files that close it.
    fn cycles(&self) -> Vec<String> {
        let edges = self.sibling_edges();
        let nodes: Vec<&ModPath> = self.modules.keys().collect();
        let mut out = Vec::new();
        for scc in tarjan(&nodes, &edges) {
            if scc.len() < 2 {
                continue;
            }
            let set: BTreeSet<&ModPath> = scc.iter().copied().collect();
            let mut why = Vec::new();
            for a in &scc {
                for (b, file) in edges.get(*a).into_iter().flatten() {
                    if set.contains(b) {
                        why.push(format!(
                            "  {} -> {} ({})",
                            a.join("::"),
                            b.join("::"),
                            file.strip_prefix(repo()).unwrap_or(file).display()
                        ));
                    }
                }
            }
            let names: Vec<String> = scc.iter().map(|m| m.join("::")).collect();
            out.push(format!("cycle: {}\n{}", names.join(", "), why.join("\n")));
        }
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Tarjan's strongly connected components.
fn tarjan<'a>(
    nodes: &[&'a ModPath],
    edges: &'a BTreeMap<ModPath, BTreeMap<ModPath, PathBuf>>,
) -> Vec<Vec<&'a ModPath>> {
    struct State<'a> {
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on: BTreeSet<&'a ModPath>,
        out: Vec<Vec<&'a ModPath>>,
    }
    fn visit<'a>(
        v: &'a ModPath,
        edges: &'a BTreeMap<ModPath, BTreeMap<ModPath, PathBuf>>,
        s: &mut State<'a>,
    ) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        for w in edges.get(v).into_iter().flat_map(|m| m.keys()) {
            if !s.index.contains_key(w) {
                visit(w, edges, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                scc.push(w);
                if w == v {
                    break;
                }
            }
            scc.sort();
            s.out.push(scc);
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(v, edges, &mut s);
        }
    }
    s.out
}

#[test]
fn the_domain_crate_has_no_use_cycle() {
    let krate = Crate::read(&repo().join("shared/kindling/src"));
    assert!(
        krate.modules.len() > 30,
        "read {} modules",
        krate.modules.len()
    );
    let cycles = krate.cycles();
    assert!(
        cycles.is_empty(),
        "modules that import each other in a circle:\n{}",
        cycles.join("\n")
    );
}

/// Lines that count: a Rust file's lines before its trailing `#[cfg(test)]` module.
fn code_lines(path: &str, text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    if path.ends_with(".rs") {
        if let Some(i) = lines.iter().position(|l| *l == "#[cfg(test)]") {
            return i;
        }
    }
    lines.len()
}

/// Whether `path` is source code this rule is about (not tests, fixtures or generated data).
fn is_checked_source(path: &str) -> bool {
    let test_dir = path
        .split('/')
        .any(|p| matches!(p, "tests" | "test" | "fixtures" | "golden" | "node_modules"));
    let source = [".rs", ".ts", ".js", ".mjs", ".py", ".sh"]
        .iter()
        .any(|e| path.ends_with(e));
    source && !test_dir && !path.ends_with("/tests.rs")
}

#[test]
fn no_source_file_is_over_400_lines_but_the_listed_ones() {
    let out = std::process::Command::new("git")
        .arg("ls-files")
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success());
    let files = String::from_utf8(out.stdout).unwrap();
    let mut long = Vec::new();
    let mut checked = 0;
    for path in files.lines().filter(|p| is_checked_source(p)) {
        let Ok(text) = std::fs::read_to_string(repo().join(path)) else {
            continue;
        };
        checked += 1;
        let n = code_lines(path, &text);
        let listed = LONG_FILES.iter().any(|(p, _)| *p == path);
        if n > MAX_LINES && !listed {
            long.push(format!("  {path}: {n} lines"));
        }
        if n <= MAX_LINES && listed {
            long.push(format!(
                "  {path}: {n} lines, no longer needs its place in LONG_FILES"
            ));
        }
    }
    assert!(checked > 50, "checked {checked} files");
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines (split by what each part is about, or list with a reason):\n{}",
        long.join("\n")
    );
}

// The checks themselves, on made-up crates: each must be able to fail.

fn made_up(files: &[(&str, &str)]) -> (tempfile::TempDir, Crate) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let krate = Crate::read(dir.path());
    (dir, krate)
}

#[test]
fn a_cycle_between_top_level_modules_is_found_through_any_path() {
    let (_dir, krate) = made_up(&[
        ("lib.rs", "pub mod a; pub mod b; pub mod c;"),
        ("a.rs", "use crate::{b::{B}}; pub struct A;"),
        ("b.rs", "pub struct B; fn f(_: crate::c::C) {}"),
        ("c.rs", "pub struct C; pub fn g() { crate::a::h(); }"),
    ]);
    let cycles = krate.cycles();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(cycles[0].starts_with("cycle: a, b, c"), "{}", cycles[0]);
}

#[test]
fn a_cycle_between_siblings_in_a_folder_is_found_but_parent_and_child_are_no_cycle() {
    let (_dir, krate) = made_up(&[
        ("lib.rs", "pub mod cap;"),
        (
            "cap/mod.rs",
            "mod x; mod y; pub use x::X; pub struct Ctx; fn f() { y::g(); }",
        ),
        (
            "cap/x.rs",
            "use super::Ctx; pub struct X; fn f() { super::y::g(); }",
        ),
        ("cap/y.rs", "pub fn g() { let _ = crate::cap::x::X; }"),
    ]);
    let cycles = krate.cycles();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(
        cycles[0].starts_with("cycle: cap::x, cap::y"),
        "{}",
        cycles[0]
    );
}

#[test]
fn comments_strings_and_test_modules_are_not_imports() {
    let (_dir, krate) = made_up(&[
        ("lib.rs", "pub mod a; pub mod b;"),
        (
            "a.rs",
            "//! See [`crate::b`].\npub fn f() -> &'static str { \"crate::b::x\" }\n\
             #[cfg(test)]\nmod tests { use crate::b::B; }",
        ),
        ("b.rs", "pub struct B; pub fn g() { crate::a::f(); }"),
    ]);
    assert!(krate.cycles().is_empty(), "{:?}", krate.cycles());
}

#[test]
fn only_code_lines_count_and_only_sources_are_checked() {
    let text = "fn a() {}\n".repeat(3) + "#[cfg(test)]\nmod tests {}\n";
    assert_eq!(code_lines("x.rs", &text), 3);
    assert_eq!(code_lines("x.ts", &text), 5);
    assert!(is_checked_source("shared/kindling/src/sending/mail.rs"));
    assert!(is_checked_source("infra/lib/kindling-stack.ts"));
    assert!(!is_checked_source("shared/kindling/src/config/tests.rs"));
    assert!(!is_checked_source("tests/tests/sending.rs"));
    assert!(!is_checked_source("infra/test/stack.test.ts"));
    assert!(!is_checked_source("config/kindling.toml"));
}
impl Crate {
    /// Paths named through the root's re-exports (`crate::Config`, `crate::Error`) and
    /// exported macros (`crate::named!`), to the module they come from.
    fn aliases(&self) -> BTreeMap<String, ModPath> {
        let mut out = BTreeMap::new();
        for (module, (file, _)) in &self.modules {
            let text = std::fs::read_to_string(file).unwrap();
            let ast = syn::parse_file(&text).unwrap();
            for item in &ast.items {
                match item {
                    syn::Item::Use(u) if module.is_empty() => {
                        let mut leaves = Vec::new();
                        use_leaves(&mut Vec::new(), &u.tree, &mut leaves);
                        for (name, path) in leaves {
                            out.insert(name, path);
                        }
                    }
                    syn::Item::Macro(m)
                        if m.attrs.iter().any(|a| a.path().is_ident("macro_export")) =>
                    {
                        if let Some(name) = &m.ident {
                            out.insert(name.to_string(), module.clone());
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Every import from a layer to one above it, each with the file that makes it; and every
    /// top-level module that `layers` does not place.
    fn upward(&self, layers: &[&[&str]]) -> Vec<String> {
        let layer_of = |m: &str| layers.iter().position(|l| l.contains(&m));
        let aliases = self.aliases();
        let mut out = BTreeSet::new();
        for (from, (file, names)) in &self.modules {
            let Some(top) = from.first() else { continue };
            let Some(here) = layer_of(top) else {
                out.insert(format!(
                    "{top}: a top-level module in no layer (add it to LAYERS)"
                ));
                continue;
            };
            for to in names {
                let Some(first) = to.first() else { continue };
                let target = match aliases.get(first) {
                    Some(path) if !self.modules.contains_key(&vec![first.clone()]) => {
                        path.first().cloned().unwrap_or_default()
                    }
                    _ => first.clone(),
                };
                if let Some(there) = layer_of(&target) {
                    if there > here {
                        out.insert(format!(
                            "  {} -> {} ({})",
                            from.join("::"),
                            to.join("::"),
                            file.strip_prefix(repo()).unwrap_or(file).display()
                        ));
                    }
                }
            }
        }
        out.into_iter().collect()
    }
}

/// The names a `use` tree brings in, each with the module path it comes from.
fn use_leaves(prefix: &mut Vec<String>, tree: &syn::UseTree, out: &mut Vec<(String, ModPath)>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(prefix, &p.tree, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => out.push((n.ident.to_string(), prefix.clone())),
        syn::UseTree::Rename(r) => out.push((r.rename.to_string(), prefix.clone())),
        syn::UseTree::Glob(_) => {}
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(prefix, t, out);
            }
        }
    }
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let krate = Crate::read(&repo().join("shared/kindling/src"));
    let up = krate.upward(LAYERS);
    assert!(
        up.is_empty(),
        "imports that go up the layers (kernel, capabilities in order, assembly):\n{}",
        up.join("\n")
    );
}

#[test]
fn an_upward_import_is_found_through_a_path_a_re_export_or_a_macro() {
    let layers: &[&[&str]] = &[&["kernel"], &["low"], &["high"], &["top"]];
    let (_dir, krate) = made_up(&[
        (
            "lib.rs",
            "pub mod kernel; pub mod low; pub mod high; pub mod top;\npub use top::Top;",
        ),
        ("kernel.rs", "pub struct K;"),
        ("low.rs", "pub struct L; fn f(_: crate::kernel::K) {}"),
        (
            "high.rs",
            "#[macro_export]\nmacro_rules! shout { () => {} }\npub fn h() { crate::low::L; }",
        ),
        ("top.rs", "pub struct Top; fn g() { crate::high::h(); }"),
    ]);
    assert!(
        krate.upward(layers).is_empty(),
        "{:?}",
        krate.upward(layers)
    );
    let (_dir, krate) = made_up(&[
        (
            "lib.rs",
            "pub mod kernel; pub mod low; pub mod high; pub mod top;\npub use top::Top;",
        ),
        ("kernel.rs", "pub struct K; fn k() { crate::shout!(); }"),
        ("low.rs", "use crate::high::h; fn f(_: crate::Top) {}"),
        (
            "high.rs",
            "#[macro_export]\nmacro_rules! shout { () => {} }\npub fn h() {}",
        ),
        ("top.rs", "pub struct Top;"),
        ("stray.rs", "pub struct S;"),
    ]);
    let up = krate.upward(layers);
    assert_eq!(up.len(), 4, "{up:#?}");
    assert!(
        up.iter().any(|l| l.starts_with("  kernel -> shout")),
        "a macro: {up:#?}"
    );
    assert!(
        up.iter().any(|l| l.starts_with("  low -> high::h")),
        "a use: {up:#?}"
    );
    assert!(
        up.iter().any(|l| l.starts_with("  low -> Top")),
        "a re-export: {up:#?}"
    );
    assert!(
        up.iter().any(|l| l.starts_with("stray")),
        "an unplaced module: {up:#?}"
    );
}
