//! The values the pickle machine (`pickle.rs`) builds, and the bounds that keep hostile
//! pickles harmless:
//! - strings and byte strings are shared (`Rc`), so a memo reference repeated a million
//!   times costs a pointer each, never a copy;
//! - containers drop iteratively (`drop_iteratively`), so 10^5-deep nesting cannot
//!   overflow the stack when it is thrown away;
//! - `check_tree` walks a result once (shared children are visited once): it rejects
//!   cycles (a dict holding itself), nesting deeper than `MAX_DEPTH` and more than
//!   `MAX_NODES` containers, and breaks the cycles it finds so nothing leaks;
//! - dicts keep a key index, so a dict of n items is built in O(n), not O(n^2).

use super::dtype::StoredDtype;
use anyhow::{bail, Result};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Deepest nesting of containers accepted (a state_dict nests 3 or 4 deep).
pub(super) const MAX_DEPTH: usize = 200;
/// Most distinct containers in one pickle.
pub(super) const MAX_NODES: usize = 1 << 22;

#[derive(Debug)]
pub(super) struct StorageRef {
    pub(super) key: String,
    pub(super) dtype: StoredDtype,
}

#[derive(Debug)]
pub(super) struct TensorRef {
    pub(super) storage: Rc<StorageRef>,
    pub(super) offset: usize,
    pub(super) shape: Vec<usize>,
    pub(super) stride: Vec<usize>,
}

/// Items of a tuple or list (a tuple is never mutated).
#[derive(Debug, Default)]
pub(super) struct Seq(pub(super) RefCell<Vec<Value>>);

/// A dict in insertion order, with an index of its string keys.
#[derive(Debug, Default)]
pub(super) struct DictData {
    pub(super) items: Vec<(Value, Value)>,
    index: HashMap<Rc<str>, usize>,
}

#[derive(Debug, Default)]
pub(super) struct Map(pub(super) RefCell<DictData>);

/// Containers are shared (`Rc`) so that memo references see later mutations, as in Python.
/// Some payloads are only ever shown through `Debug` in error messages.
#[derive(Clone, Debug)]
#[allow(dead_code)]
pub(super) enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer too large for i64, as little-endian two's complement bytes.
    Long(Rc<[u8]>),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<Seq>),
    List(Rc<Seq>),
    Dict(Rc<Map>),
    Global(Rc<str>),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
    /// Result of calling something this reader does not model: the callable's name.
    Object(Rc<str>),
}

impl Value {
    pub(super) fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Rc::new(Seq(RefCell::new(items))))
    }

    pub(super) fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(Seq(RefCell::new(items))))
    }

    pub(super) fn dict(items: Vec<(Value, Value)>) -> Value {
        let mut d = DictData::default();
        for (k, v) in items {
            drop_iteratively(d.set(k, v).into_iter().collect());
        }
        Value::Dict(Rc::new(Map(RefCell::new(d))))
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn as_usize(&self) -> Option<usize> {
        match self {
            Value::Int(i) => usize::try_from(*i).ok(),
            Value::Bool(b) => Some(*b as usize),
            _ => None,
        }
    }

    /// The items of a tuple or list.
    pub(super) fn items(&self) -> Option<std::cell::Ref<'_, Vec<Value>>> {
        match self {
            Value::Tuple(t) | Value::List(t) => Some(t.0.borrow()),
            _ => None,
        }
    }

    pub(super) fn usize_tuple(&self) -> Option<Vec<usize>> {
        self.items()?.iter().map(Value::as_usize).collect()
    }
}

impl DictData {
    /// Insert or replace, keeping first-insertion order like a Python dict; returns the
    /// value replaced.
    pub(super) fn set(&mut self, k: Value, v: Value) -> Option<Value> {
        if let Value::Str(key) = &k {
            if let Some(&i) = self.index.get(key) {
                return Some(std::mem::replace(&mut self.items[i].1, v));
            }
            self.index.insert(key.clone(), self.items.len());
        }
        self.items.push((k, v));
        None
    }

    pub(super) fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.items[i].1)
    }
}

pub(super) fn dict_get(d: &Value, key: &str) -> Option<Value> {
    match d {
        Value::Dict(d) => d.0.borrow().get(key).cloned(),
        _ => None,
    }
}

impl Drop for Seq {
    fn drop(&mut self) {
        drop_iteratively(std::mem::take(self.0.get_mut()));
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        let d = std::mem::take(self.0.get_mut());
        drop_iteratively(d.items.into_iter().flat_map(|(k, v)| [k, v]).collect());
    }
}

/// Drops values with a work list instead of recursion: a container whose last reference
/// goes hands its items to the list (its own `Drop` then sees an empty container).
pub(super) fn drop_iteratively(mut work: Vec<Value>) {
    while let Some(v) = work.pop() {
        match v {
            Value::Tuple(s) | Value::List(s) => {
                if let Ok(s) = Rc::try_unwrap(s) {
                    work.append(&mut s.0.borrow_mut());
                }
            }
            Value::Dict(m) => {
                if let Ok(m) = Rc::try_unwrap(m) {
                    let d = std::mem::take(&mut *m.0.borrow_mut());
                    work.extend(d.items.into_iter().flat_map(|(k, v)| [k, v]));
                }
            }
            _ => {}
        }
    }
}

fn node(v: &Value) -> Option<usize> {
    match v {
        Value::Tuple(s) | Value::List(s) => Some(Rc::as_ptr(s) as *const u8 as usize),
        Value::Dict(m) => Some(Rc::as_ptr(m) as *const u8 as usize),
        _ => None,
    }
}

fn children(v: &Value) -> Vec<Value> {
    match v {
        Value::Tuple(s) | Value::List(s) => s.0.borrow().clone(),
        Value::Dict(m) => m.0.borrow().items.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect(),
        _ => Vec::new(),
    }
}

/// Empties every container reachable from `root`, which breaks any cycle among them.
fn clear_all(root: &Value) {
    let mut seen = std::collections::HashSet::new();
    let mut work = vec![root.clone()];
    let mut cleared = Vec::new();
    while let Some(v) = work.pop() {
        let Some(id) = node(&v) else { continue };
        if !seen.insert(id) {
            continue;
        }
        work.extend(children(&v));
        cleared.push(v);
    }
    for v in &cleared {
        let items = match v {
            Value::Tuple(s) | Value::List(s) => std::mem::take(&mut *s.0.borrow_mut()),
            Value::Dict(m) => {
                let d = std::mem::take(&mut *m.0.borrow_mut());
                d.items.into_iter().flat_map(|(k, v)| [k, v]).collect()
            }
            _ => Vec::new(),
        };
        drop_iteratively(items);
    }
    drop_iteratively(cleared);
}

/// Accepts `root` if its containers form no cycle, nest at most `MAX_DEPTH` deep and number
/// at most `MAX_NODES`; otherwise empties them (so nothing leaks) and says why.
pub(super) fn check_tree(root: &Value) -> Result<()> {
    let found = walk(root);
    if found.is_err() {
        clear_all(root);
    }
    found
}

fn walk(root: &Value) -> Result<()> {
    // Iterative depth-first walk: grey nodes are on the current path (meeting one again is
    // a cycle), finished nodes are not entered again (shared children cost one visit).
    enum Mark {
        Grey,
        Done,
    }
    let mut marks: HashMap<usize, Mark> = HashMap::new();
    // (node id, its children, next child to visit)
    let mut path: Vec<(usize, Vec<Value>, usize)> = Vec::new();
    if let Some(id) = node(root) {
        marks.insert(id, Mark::Grey);
        path.push((id, children(root), 0));
    }
    while let Some((id, kids, next)) = path.last_mut() {
        if *next == kids.len() {
            marks.insert(*id, Mark::Done);
            path.pop();
            continue;
        }
        let child = kids[*next].clone();
        *next += 1;
        let Some(cid) = node(&child) else { continue };
        match marks.get(&cid) {
            Some(Mark::Grey) => bail!("the pickle holds a container that contains itself (a cycle)"),
            Some(Mark::Done) => continue,
            None => {}
        }
        if path.len() >= MAX_DEPTH {
            bail!("the pickle nests containers more than {MAX_DEPTH} deep");
        }
        if marks.len() >= MAX_NODES {
            bail!("the pickle holds more than {MAX_NODES} containers");
        }
        marks.insert(cid, Mark::Grey);
        path.push((cid, children(&child), 0));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(n: usize) -> Value {
        let mut v = Value::list(vec![]);
        for _ in 0..n {
            v = Value::list(vec![v]);
        }
        v
    }

    #[test]
    fn deep_nesting_drops_without_recursion_and_is_rejected() {
        let v = deep(200_000);
        let err = check_tree(&v).unwrap_err().to_string();
        assert!(err.contains("deep"), "{err}");
        drop(deep(200_000));
        check_tree(&deep(MAX_DEPTH - 1)).unwrap();
    }

    #[test]
    fn cycles_are_rejected_and_shared_children_visited_once() {
        let l = Value::list(vec![]);
        if let Value::List(s) = &l {
            s.0.borrow_mut().push(l.clone());
        }
        let err = check_tree(&l).unwrap_err().to_string();
        assert!(err.contains("cycle"), "{err}");
        // Emptied, so the cycle no longer holds itself alive.
        if let Value::List(s) = &l {
            assert_eq!(Rc::strong_count(s), 1);
        }
        // 60 levels of [x, x]: 2^60 paths, 60 distinct containers.
        let mut v = Value::list(vec![]);
        for _ in 0..60 {
            v = Value::list(vec![v.clone(), v]);
        }
        check_tree(&v).unwrap();
    }

    #[test]
    fn dict_set_replaces_in_place() {
        let d = Value::dict(vec![
            (Value::Str("a".into()), Value::Int(1)),
            (Value::Str("a".into()), Value::Int(2)),
        ]);
        let Value::Dict(m) = &d else { panic!() };
        assert_eq!(m.0.borrow().items.len(), 1);
        assert!(matches!(dict_get(&d, "a"), Some(Value::Int(2))));
    }
}
