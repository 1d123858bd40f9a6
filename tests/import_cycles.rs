//! No import cycle between the files of src/: every `use` and every `crate::` / `super::` /
//! `self::` path is resolved to the file that defines the item (following `pub use`
//! re-exports), and the graph of files must have no cycle. A folder's `mod.rs` naming its
//! own children in `pub use` is its public face, not a dependency, unless its own code uses
//! the name. Test modules (`#[cfg(test)] mod tests`) are left out: they see their file's
//! items by design. A light parser, not a compiler: it reads the code the way rustfmt
//! writes it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

struct File {
    /// Child modules declared with `mod x;`.
    children: BTreeSet<String>,
    /// (is pub, path segments as written) of every `use` leaf.
    uses: Vec<(bool, Vec<String>)>,
    /// The code without comments, use statements and test modules.
    body: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn module_of(rel: &Path) -> ModPath {
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        // A `//` inside a string cuts the rest of the line: at worst a path is missed.
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `a::{b, c::{d, e as f}}` into [a::b, a::c::d, a::c::e] (renames keep the original).
fn expand(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> =
            tree[..open].split("::").map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        let mut base = prefix.to_vec();
        base.extend(head);
        let inner = &tree[open + 1..tree.rfind('}').unwrap()];
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..i], &base, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], &base, out);
    } else if !tree.is_empty() {
        let tree = tree.split(" as ").next().unwrap();
        let mut p = prefix.to_vec();
        p.extend(tree.split("::").map(|s| s.trim().to_string()));
        if p.last().is_some_and(|s| s == "self") {
            p.pop();
        }
        out.push(p);
    }
}

fn parse(text: &str) -> File {
    let mut code = strip_comments(text);
    if let Some(i) = code.find("#[cfg(test)]\nmod tests") {
        code.truncate(i);
    }
    let mut children = BTreeSet::new();
    let mut uses = Vec::new();
    let mut body = String::new();
    let mut rest = code.as_str();
    while !rest.is_empty() {
        let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let line = rest[..line_end].trim();
        let (is_pub, after) = match line.strip_prefix("pub ").or_else(|| line.strip_prefix("pub(crate) ")) {
            Some(a) => (true, a),
            None => (line.starts_with("pub(super) "), line.trim_start_matches("pub(super) ")),
        };
        if after.starts_with("use ") {
            // A use statement may span lines: read to its `;`.
            let start = rest.find("use ").unwrap() + 4;
            let end = rest.find(';').unwrap();
            let mut leaves = Vec::new();
            expand(&rest[start..end], &[], &mut leaves);
            uses.extend(leaves.into_iter().map(|l| (is_pub, l)));
            rest = &rest[end + 1..];
            continue;
        }
        if let Some(m) = after.strip_prefix("mod ") {
            if let Some(name) = m.strip_suffix(';') {
                children.insert(name.trim().to_string());
            }
        }
        body.push_str(&rest[..line_end]);
        rest = &rest[line_end..];
    }
    File { children, uses, body }
}

/// `ident(::ident)+` paths in `body` starting with one of `roots`.
fn qualified_paths(body: &str, roots: &BTreeSet<String>) -> Vec<Vec<String>> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_ident(chars[i]) && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let s = j;
                while j < chars.len() && is_ident(chars[j]) {
                    j += 1;
                }
                segs.push(chars[s..j].iter().collect::<String>());
                if j + 2 < chars.len() && chars[j] == ':' && chars[j + 1] == ':' && is_ident(chars[j + 2]) {
                    j += 2;
                } else {
                    break;
                }
            }
            if segs.len() > 1 && roots.contains(&segs[0]) {
                out.push(segs);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

struct Crate {
    files: BTreeMap<ModPath, File>,
}

impl Crate {
    /// The module a path written in `from` starts at, and the rest of the path; None for
    /// paths outside the crate (std, dependencies).
    fn anchor(&self, from: &ModPath, path: &[String]) -> Option<(ModPath, Vec<String>)> {
        let mut base = from.clone();
        let mut rest = path;
        match rest.first()?.as_str() {
            "crate" => {
                base.clear();
                rest = &rest[1..];
            }
            "self" => rest = &rest[1..],
            "super" => {
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
            }
            first if self.files[from].children.contains(first) => {}
            _ => return None,
        }
        Some((base, rest.to_vec()))
    }

    /// The file that defines what `path` (written in `from`) names.
    fn resolve(&self, from: &ModPath, path: &[String], depth: usize) -> Option<ModPath> {
        let (mut m, rest) = self.anchor(from, path)?;
        let mut rest = rest.as_slice();
        while let Some(seg) = rest.first() {
            let mut next = m.clone();
            next.push(seg.clone());
            if !self.files.contains_key(&next) {
                break;
            }
            m = next;
            rest = &rest[1..];
        }
        // An item re-exported by `m`: follow the re-export to its home.
        if let (Some(name), true) = (rest.first(), depth < 8) {
            for (is_pub, u) in &self.files[&m].uses {
                if *is_pub && u.last() == Some(name) {
                    if let Some(home) = self.resolve(&m, u, depth + 1) {
                        return Some(home);
                    }
                }
            }
        }
        Some(m)
    }

    fn edges(&self) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
        let mut edges = BTreeMap::new();
        for (m, f) in &self.files {
            let mut to = BTreeSet::new();
            for (is_pub, u) in &f.uses {
                let own_child = u.first().is_some_and(|s| f.children.contains(s))
                    || (u.first().is_some_and(|s| s == "self") && u.len() > 1 && f.children.contains(&u[1]));
                let name = u.last().unwrap();
                let used_here = qualified_or_word(&f.body, name);
                if *is_pub && own_child && !used_here {
                    continue;
                }
                if let Some(t) = self.resolve(m, u, 0) {
                    to.insert(t);
                }
            }
            let mut roots: BTreeSet<String> = ["crate", "super", "self"].map(String::from).into();
            roots.extend(f.children.iter().cloned());
            for p in qualified_paths(&f.body, &roots) {
                if let Some(t) = self.resolve(m, &p, 0) {
                    to.insert(t);
                }
            }
            to.remove(m);
            edges.insert(m.clone(), to);
        }
        edges
    }
}

fn qualified_or_word(body: &str, name: &str) -> bool {
    body.match_indices(name).any(|(i, _)| {
        let before = body[..i].chars().next_back();
        let after = body[i + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// The groups of files that import each other (strongly connected, more than one file).
fn cyclic_groups(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<BTreeSet<ModPath>> {
    let reach = |from: &ModPath| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for t in &edges[&n] {
                if seen.insert(t.clone()) {
                    todo.push(t.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&ModPath, BTreeSet<ModPath>> = edges.keys().map(|k| (k, reach(k))).collect();
    let mut groups: Vec<BTreeSet<ModPath>> = Vec::new();
    for (a, ra) in &reachable {
        if groups.iter().any(|g| g.contains(*a)) {
            continue;
        }
        let g: BTreeSet<ModPath> =
            ra.iter().filter(|b| *b == *a || reachable[b].contains(*a)).cloned().collect();
        if g.len() > 1 {
            groups.push(g);
        }
    }
    groups
}

fn load_crate(src: &Path) -> Crate {
    let mut paths = Vec::new();
    rust_files(src, &mut paths);
    let mut files = BTreeMap::new();
    for p in paths {
        let rel = p.strip_prefix(src).unwrap();
        if rel == Path::new("main.rs") {
            continue; // the binary: a crate of its own, on top of everything
        }
        let m = module_of(rel);
        files.insert(m, parse(&std::fs::read_to_string(&p).unwrap()));
    }
    Crate { files }
}

fn show(m: &ModPath) -> String {
    if m.is_empty() {
        "lib.rs".into()
    } else {
        m.join("/")
    }
}

#[test]
fn no_import_cycle_between_files() {
    let krate = load_crate(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(krate.files.len() > 50, "src/ not found or not read");
    let edges = krate.edges();
    let groups = cyclic_groups(&edges);
    let mut found = Vec::new();
    for g in &groups {
        let names: Vec<String> = g.iter().map(show).collect();
        // The edges inside the group: what to cut.
        let inner: Vec<String> = g
            .iter()
            .flat_map(|a| {
                edges[a].iter().filter(|b| g.contains(*b)).map(move |b| format!("{} -> {}", show(a), show(b)))
            })
            .collect();
        found.push(format!("{} (edges: {})", names.join(", "), inner.join("; ")));
    }
    assert!(found.is_empty(), "files of src/ that import each other:\n{}", found.join("\n"));
}

/// The checker itself: it sees a cycle made through `super::`, a re-export, and a
/// qualified path, and none where a folder's mod.rs only re-exports its children.
#[test]
fn the_checker_finds_cycles() {
    let files = [
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a/mod.rs", "mod x;\nmod y;\npub use x::Thing;\npub trait Base {}\n"),
        ("a/x.rs", "use super::Base;\npub struct Thing;\n"),
        ("a/y.rs", "pub fn f() -> crate::b::B { todo!() }\n"),
        ("b.rs", "use crate::a::Thing;\npub struct B;\npub fn g() { crate::a::y::f(); }\n"),
    ];
    let krate = Crate { files: files.iter().map(|(p, t)| (module_of(Path::new(p)), parse(t))).collect() };
    let edges = krate.edges();
    let m = |s: &str| s.split('/').map(String::from).collect::<ModPath>();
    // a/mod.rs re-exports x's Thing without using it: no edge a -> a/x, so no a <-> a/x cycle.
    assert!(!edges[&m("a")].contains(&m("a/x")), "{edges:?}");
    assert!(edges[&m("a/x")].contains(&m("a")));
    // b uses a::Thing, defined in a/x.rs (through the re-export).
    assert!(edges[&m("b")].contains(&m("a/x")), "{edges:?}");
    let groups = cyclic_groups(&edges);
    assert_eq!(groups, vec![BTreeSet::from([m("a/y"), m("b")])], "{edges:?}");
}
