//! A minimal pickle machine: just what a PyTorch state_dict needs. Dicts / OrderedDicts,
//! tuples, lists, numbers, strings, and tensors rebuilt by
//! `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` from persistent ids
//! `('storage', torch.FloatStorage, key, location, numel)`. Anything else becomes an opaque
//! value. It never runs code: globals are names, calls are modelled or become opaque.

//! The values it builds, and the bounds on them (depth, cycles, sharing), are in `value.rs`.

use super::dtype::StoredDtype;
use super::value::check_tree;
pub(super) use super::value::{dict_get, StorageRef, TensorRef, Value};
use anyhow::{anyhow, bail, Result};
use std::collections::HashMap;
use std::rc::Rc;

pub(super) struct Unpickler<'a> {
    data: &'a [u8],
    pub(super) pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    /// Element type of every storage met (legacy files need it to skip through the data).
    pub(super) storages: HashMap<String, StoredDtype>,
}

impl<'a> Unpickler<'a> {
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
        Unpickler {
            data,
            pos,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            storages: HashMap::new(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| anyhow!("pickle truncated at byte {}", self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }

    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| anyhow!("pickle truncated in a text line"))?;
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| anyhow!("bad text in pickle"))?;
        self.pos += n + 1;
        Ok(s)
    }

    fn string(&mut self, n: usize) -> Result<Value> {
        let b = self.take(n)?;
        let s = std::str::from_utf8(b).map_err(|_| anyhow!("bad UTF-8 string in pickle"))?;
        Ok(Value::Str(s.into()))
    }

    fn pop(&mut self) -> Result<Value> {
        self.stack.pop().ok_or_else(|| anyhow!("pickle stack underflow at byte {}", self.pos))
    }

    fn top(&mut self) -> Result<&mut Value> {
        let pos = self.pos;
        self.stack.last_mut().ok_or_else(|| anyhow!("pickle stack underflow at byte {pos}"))
    }

    /// Items pushed since the last MARK, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let m = self.marks.pop().ok_or_else(|| anyhow!("pickle MARK missing at byte {}", self.pos))?;
        if m > self.stack.len() {
            bail!("pickle stack underflow at byte {}", self.pos);
        }
        Ok(self.stack.split_off(m))
    }

    fn memo_get(&self, k: u32) -> Result<Value> {
        self.memo.get(&k).cloned().ok_or_else(|| anyhow!("pickle memo {k} missing"))
    }

    fn memo_put(&mut self, k: u32) -> Result<()> {
        let v = self.top()?.clone();
        self.memo.insert(k, v);
        Ok(())
    }

    /// Runs until STOP and returns the object; `pos` is then just past it. The object is
    /// checked by `check_tree` (no cycle, bounded depth and size).
    pub(super) fn load(&mut self) -> Result<Value> {
        let root = self.run()?;
        check_tree(&root)?;
        Ok(root)
    }

    fn run(&mut self) -> Result<Value> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME (protocol 4): only a size hint
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'J' => {
                    let v = i32::from_le_bytes(self.take(4)?.try_into().unwrap());
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.take(2)?.try_into().unwrap());
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a { self.u8()? as usize } else { self.u32()? as usize };
                    let b = self.take(n)?;
                    self.stack.push(long_value(b));
                }
                b'I' | b'L' => {
                    // Text integers (protocol 0): "01"/"00" are True/False.
                    let s = self.line()?.trim_end_matches('L');
                    let v = match s {
                        "01" => Value::Bool(true),
                        "00" => Value::Bool(false),
                        _ => Value::Int(s.parse().map_err(|_| anyhow!("bad integer '{s}' in pickle"))?),
                    };
                    self.stack.push(v);
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                    self.stack.push(Value::Float(v));
                }
                b'F' => {
                    let s = self.line()?;
                    self.stack
                        .push(Value::Float(s.parse().map_err(|_| anyhow!("bad float '{s}' in pickle"))?));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                0x8d => {
                    let n = u64::from_le_bytes(self.take(8)?.try_into().unwrap()) as usize;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                b'U' | b'T' | b'C' | b'B' | 0x8e => {
                    // Byte strings (SHORT_BINSTRING, BINSTRING, SHORT_BINBYTES, BINBYTES, BINBYTES8).
                    let n = match op {
                        b'U' | b'C' => self.u8()? as usize,
                        0x8e => u64::from_le_bytes(self.take(8)?.try_into().unwrap()) as usize,
                        _ => self.u32()? as usize,
                    };
                    let b = self.take(n)?;
                    // Python 2 str pickles (U/T) are text in practice: keep them as strings.
                    let v = match (op, std::str::from_utf8(b)) {
                        (b'U' | b'T', Ok(s)) => Value::Str(s.into()),
                        _ => Value::Bytes(b.into()),
                    };
                    self.stack.push(v);
                }
                b')' => self.stack.push(Value::tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        bail!("pickle stack underflow at byte {at}");
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::tuple(items));
                }
                b']' => self.stack.push(Value::list(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::list(items));
                }
                b'}' => self.stack.push(Value::dict(Vec::new())),
                b'd' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::dict(pairs(items)));
                }
                b'a' => {
                    let v = self.pop()?;
                    if let Value::List(l) = self.top()? {
                        l.0.borrow_mut().push(v);
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    if let Value::List(l) = self.top()? {
                        l.0.borrow_mut().extend(items);
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    if let Value::Dict(d) = self.top()? {
                        d.0.borrow_mut().set(k, v);
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if let Value::Dict(d) = self.top()? {
                        let mut d = d.0.borrow_mut();
                        for (k, v) in pairs(items) {
                            d.set(k, v);
                        }
                    }
                }
                b'q' => {
                    let k = self.u8()? as u32;
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = self.u32()?;
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = self.memo.len() as u32;
                    self.memo_put(k)?;
                }
                b'p' => {
                    let k = self.line()?.parse().map_err(|_| anyhow!("bad PUT in pickle"))?;
                    self.memo_put(k)?;
                }
                b'h' => {
                    let k = self.u8()? as u32;
                    let v = self.memo_get(k)?;
                    self.stack.push(v);
                }
                b'j' => {
                    let k = self.u32()?;
                    let v = self.memo_get(k)?;
                    self.stack.push(v);
                }
                b'g' => {
                    let k = self.line()?.parse().map_err(|_| anyhow!("bad GET in pickle"))?;
                    let v = self.memo_get(k)?;
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(format!("{module}.{name}").into()));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module.as_str(), name.as_str()) {
                        (Some(m), Some(n)) => self.stack.push(Value::Global(format!("{m}.{n}").into())),
                        _ => bail!("bad STACK_GLOBAL at byte {at}"),
                    }
                }
                b'R' | 0x81 => {
                    // REDUCE: callable(*args); NEWOBJ: cls.__new__(cls, *args).
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = call(&callable, &args).map_err(|e| anyhow!("{e} (pickle byte {at})"))?;
                    self.stack.push(v);
                }
                b'b' => {
                    // BUILD sets object state (e.g. a state_dict's `_metadata`): not needed.
                    self.pop()?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = persistent_load(&pid).map_err(|e| anyhow!("{e} (pickle byte {at})"))?;
                    if let Value::Storage(s) = &v {
                        self.storages.insert(s.key.clone(), s.dtype);
                    }
                    self.stack.push(v);
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                _ => bail!("unsupported pickle opcode 0x{op:02x} at byte {at}"),
            }
        }
    }
}

fn long_value(b: &[u8]) -> Value {
    if b.len() <= 8 {
        let fill = if b.last().is_some_and(|&x| x & 0x80 != 0) { 0xff } else { 0 };
        let mut full = [fill; 8];
        full[..b.len()].copy_from_slice(b);
        Value::Int(i64::from_le_bytes(full))
    } else {
        Value::Long(b.into())
    }
}

fn pairs(items: Vec<Value>) -> Vec<(Value, Value)> {
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

fn call(callable: &Value, args: &Value) -> Result<Value> {
    let Value::Global(name) = callable else {
        return Ok(Value::Object("<call>".into()));
    };
    let args = args.items();
    let args: &[Value] = args.as_deref().map_or(&[], |a| &a[..]);
    Ok(match &**name {
        "collections.OrderedDict" | "builtins.dict" | "__builtin__.dict" => Value::dict(Vec::new()),
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            let bad = || anyhow!("bad arguments to {name}");
            let Some(Value::Storage(storage)) = args.first() else { return Err(bad()) };
            let offset = args.get(1).and_then(Value::as_usize).ok_or_else(bad)?;
            let shape = args.get(2).and_then(Value::usize_tuple).ok_or_else(bad)?;
            let stride = args.get(3).and_then(Value::usize_tuple).ok_or_else(bad)?;
            if shape.len() != stride.len() {
                return Err(bad());
            }
            Value::Tensor(Rc::new(TensorRef { storage: storage.clone(), offset, shape, stride }))
        }
        // nn.Parameter wrapping a tensor: the tensor is all we need.
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
            args.first().cloned().ok_or_else(|| anyhow!("bad arguments to {name}"))?
        }
        "torch.Size" => args.first().cloned().unwrap_or(Value::None),
        _ => Value::Object(name.clone()),
    })
}

fn persistent_load(pid: &Value) -> Result<Value> {
    let Value::Tuple(t) = pid else { bail!("persistent id is not a tuple") };
    let t = t.0.borrow();
    if t.first().and_then(Value::as_str) != Some("storage") || t.len() < 5 {
        bail!("unsupported persistent id {pid:?}");
    }
    let Value::Global(class) = &t[1] else { bail!("bad storage type in {pid:?}") };
    let dtype = match class.rsplit('.').next().unwrap_or("") {
        "FloatStorage" => StoredDtype::F32,
        "DoubleStorage" => StoredDtype::F64,
        "HalfStorage" => StoredDtype::F16,
        "BFloat16Storage" => StoredDtype::BF16,
        "LongStorage" => StoredDtype::I64,
        "IntStorage" => StoredDtype::I32,
        "ShortStorage" => StoredDtype::I16,
        "CharStorage" => StoredDtype::I8,
        "ByteStorage" => StoredDtype::U8,
        "BoolStorage" => StoredDtype::Bool,
        other => bail!("storage type {other} is not supported"),
    };
    let key = match &t[2] {
        Value::Str(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        _ => bail!("bad storage key in {pid:?}"),
    };
    // Legacy files may describe a view into a larger storage; torch stopped writing those.
    if t.len() > 5 && !matches!(t[5], Value::None) {
        bail!("storage views (legacy torch < 0.4 files) are not supported");
    }
    Ok(Value::Storage(Rc::new(StorageRef { key, dtype })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpickles_containers_and_memo() {
        // pickle.dumps({'a': [1, 2.5, 'x'], 'b': (True, None)}, protocol=2), plus a memo get.
        let mut p =
            vec![0x80, 2, b'}', b'q', 0, b'(', b'X', 1, 0, 0, 0, b'a', b']', b'q', 1, b'(', b'K', 1, b'G'];
        p.extend(2.5f64.to_be_bytes());
        p.extend([
            b'X', 1, 0, 0, 0, b'x', b'e', b'X', 1, 0, 0, 0, b'b', 0x88, b'N', 0x86, b'X', 1, 0, 0, 0, b'c',
            b'h', 1, b'u', b'.',
        ]);
        let mut u = Unpickler::new(&p, 0);
        let v = u.load().unwrap();
        assert_eq!(u.pos, p.len());
        let Value::List(a) = dict_get(&v, "a").unwrap() else { panic!() };
        assert_eq!(a.0.borrow().len(), 3);
        assert!(matches!(a.0.borrow()[1], Value::Float(f) if f == 2.5));
        // 'c' is the memoised list: the same object as 'a'.
        let Value::List(c) = dict_get(&v, "c").unwrap() else { panic!() };
        assert!(Rc::ptr_eq(&a, &c));
        let Value::Tuple(b) = dict_get(&v, "b").unwrap() else { panic!() };
        assert!(matches!(b.0.borrow()[..], [Value::Bool(true), Value::None]));
    }

    #[test]
    fn long1_sign_extends() {
        assert!(matches!(long_value(&[0xff]), Value::Int(-1)));
        assert!(matches!(long_value(&[0xff, 0x00]), Value::Int(255)));
        assert!(matches!(long_value(&[0u8; 10]), Value::Long(_)));
    }

    #[test]
    fn truncated_pickle_is_an_error() {
        let p = [0x80, 2, b'X', 10, 0, 0, 0, b'a'];
        let err = Unpickler::new(&p, 0).load().unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
