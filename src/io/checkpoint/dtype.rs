//! Element types a checkpoint file may store; every element is handed out as f32.

use std::fmt;

/// Element type a tensor had in its file; the data is always handed out as f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredDtype {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StoredDtype {
    pub fn size(self) -> usize {
        match self {
            StoredDtype::F64 | StoredDtype::I64 => 8,
            StoredDtype::F32 | StoredDtype::I32 => 4,
            StoredDtype::F16 | StoredDtype::BF16 | StoredDtype::I16 => 2,
            StoredDtype::I8 | StoredDtype::U8 | StoredDtype::Bool => 1,
        }
    }

    /// PyTorch's name (`float32`, `int64`, ...), as in the reference state_dict listings.
    pub fn torch_name(self) -> &'static str {
        match self {
            StoredDtype::F64 => "float64",
            StoredDtype::F32 => "float32",
            StoredDtype::F16 => "float16",
            StoredDtype::BF16 => "bfloat16",
            StoredDtype::I64 => "int64",
            StoredDtype::I32 => "int32",
            StoredDtype::I16 => "int16",
            StoredDtype::I8 => "int8",
            StoredDtype::U8 => "uint8",
            StoredDtype::Bool => "bool",
        }
    }

    /// Element `i` of little-endian `bytes`, as f32.
    pub(crate) fn read(self, bytes: &[u8], i: usize) -> f32 {
        let s = self.size();
        let b = &bytes[i * s..(i + 1) * s];
        match self {
            StoredDtype::F64 => f64::from_le_bytes(b.try_into().unwrap()) as f32,
            StoredDtype::F32 => f32::from_le_bytes(b.try_into().unwrap()),
            StoredDtype::F16 => half::f16::from_le_bytes(b.try_into().unwrap()).to_f32(),
            StoredDtype::BF16 => half::bf16::from_le_bytes(b.try_into().unwrap()).to_f32(),
            StoredDtype::I64 => i64::from_le_bytes(b.try_into().unwrap()) as f32,
            StoredDtype::I32 => i32::from_le_bytes(b.try_into().unwrap()) as f32,
            StoredDtype::I16 => i16::from_le_bytes(b.try_into().unwrap()) as f32,
            StoredDtype::I8 => b[0] as i8 as f32,
            StoredDtype::U8 => b[0] as f32,
            StoredDtype::Bool => (b[0] != 0) as u8 as f32,
        }
    }

    /// All elements of little-endian `bytes`, as f32.
    pub(crate) fn decode(self, bytes: &[u8]) -> Vec<f32> {
        (0..bytes.len() / self.size()).map(|i| self.read(bytes, i)).collect()
    }
}

impl fmt::Display for StoredDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.torch_name())
    }
}
