//! `Tensor`: a cheap handle (an `Rc`) to contiguous NCHW data on a device, and, when it was
//! made by a recorded op, the node that made it (`graph.rs`; `autograd` walks it backward).

mod device;
pub(crate) mod graph;
mod ops;

pub use device::Device;

use crate::backend::{DType, Storage};
use graph::Op;
use std::cell::{Cell, Ref, RefCell, RefMut};
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Stable identity of a tensor (parameters keep theirs for the life of the model).
pub type TensorId = usize;

fn next_id() -> TensorId {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The op that made a tensor and its inputs.
pub struct Node {
    pub op: Op,
    pub inputs: Vec<Tensor>,
}

pub(crate) struct Inner {
    id: TensorId,
    shape: Vec<usize>,
    dtype: DType,
    device: Device,
    /// Shared with reshaped views; replaced in place by optimisers and `load_state_dict`.
    storage: Rc<RefCell<Storage>>,
    requires_grad: Cell<bool>,
    node: Option<Node>,
}

#[derive(Clone)]
pub struct Tensor(pub(crate) Rc<Inner>);

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor#{}{:?} {} on {}", self.id(), self.shape(), self.dtype(), self.device().name())
    }
}

impl Tensor {
    // ---- construction --------------------------------------------------------

    /// Wraps storage made by a backend. Not recorded: a leaf.
    pub fn from_storage(storage: Storage, shape: &[usize], device: &Device) -> Tensor {
        let numel: usize = shape.iter().product();
        assert_eq!(
            storage.len(),
            numel,
            "from_storage: storage of {} elements for shape {:?}",
            storage.len(),
            shape
        );
        let dtype = storage.dtype();
        Tensor::make(Rc::new(RefCell::new(storage)), shape, dtype, device, None)
    }

    /// The result of an op: recorded in the graph when grad mode is on and an input needs grad.
    pub(crate) fn from_op(
        storage: Storage,
        shape: &[usize],
        device: &Device,
        op: Op,
        inputs: Vec<Tensor>,
    ) -> Tensor {
        let numel: usize = shape.iter().product();
        assert_eq!(
            storage.len(),
            numel,
            "{op:?}: storage of {} elements for shape {:?}",
            storage.len(),
            shape
        );
        let dtype = storage.dtype();
        Tensor::make(Rc::new(RefCell::new(storage)), shape, dtype, device, Some((op, inputs)))
    }

    pub(crate) fn make(
        storage: Rc<RefCell<Storage>>,
        shape: &[usize],
        dtype: DType,
        device: &Device,
        op: Option<(Op, Vec<Tensor>)>,
    ) -> Tensor {
        let node = op
            .filter(|(_, inputs)| graph::is_grad_enabled() && inputs.iter().any(|i| i.requires_grad()))
            .map(|(op, inputs)| Node { op, inputs });
        Tensor(Rc::new(Inner {
            id: next_id(),
            shape: shape.to_vec(),
            dtype,
            device: device.clone(),
            storage,
            requires_grad: Cell::new(node.is_some()),
            node,
        }))
    }

    pub fn from_f32(data: &[f32], shape: &[usize], device: &Device) -> Tensor {
        Self::from_f32_as(data, shape, DType::F32, device)
    }
    pub fn from_f32_as(data: &[f32], shape: &[usize], dtype: DType, device: &Device) -> Tensor {
        check_len(data.len(), shape);
        Tensor::from_storage(device.from_f32(data, dtype), shape, device)
    }
    pub fn from_f64(data: &[f64], shape: &[usize], dtype: DType, device: &Device) -> Tensor {
        check_len(data.len(), shape);
        Tensor::from_storage(device.from_f64(data, dtype), shape, device)
    }
    pub fn zeros(shape: &[usize], dtype: DType, device: &Device) -> Tensor {
        Tensor::from_storage(device.zeros(numel(shape), dtype), shape, device)
    }
    pub fn full(shape: &[usize], value: f64, dtype: DType, device: &Device) -> Tensor {
        Tensor::from_storage(device.full(numel(shape), value, dtype), shape, device)
    }
    pub fn scalar(value: f64, dtype: DType, device: &Device) -> Tensor {
        Tensor::full(&[], value, dtype, device)
    }
    /// N(mean, std) from Philox(seed, index): identical on every backend.
    pub fn randn(shape: &[usize], seed: u64, mean: f64, std: f64, dtype: DType, device: &Device) -> Tensor {
        Tensor::from_storage(device.randn(numel(shape), seed, mean, std, dtype), shape, device)
    }
    pub fn rand_uniform(
        shape: &[usize],
        seed: u64,
        lo: f64,
        hi: f64,
        dtype: DType,
        device: &Device,
    ) -> Tensor {
        Tensor::from_storage(device.rand_uniform(numel(shape), seed, lo, hi, dtype), shape, device)
    }

    // ---- accessors -------------------------------------------------------------

    pub fn id(&self) -> TensorId {
        self.0.id
    }
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    pub fn numel(&self) -> usize {
        numel(&self.0.shape)
    }
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }
    pub fn device(&self) -> &Device {
        &self.0.device
    }
    /// (n, c, h, w) of a 4-D tensor.
    pub fn dims4(&self) -> (usize, usize, usize, usize) {
        match self.shape() {
            &[n, c, h, w] => (n, c, h, w),
            s => panic!("expected a 4-D NCHW tensor, got shape {s:?}"),
        }
    }
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.get()
    }
    /// Marks a leaf as trainable (parameters, the image in style transfer).
    pub fn set_requires_grad(&self, on: bool) -> &Tensor {
        assert!(self.0.node.is_none() || on, "set_requires_grad(false) on a recorded tensor: use detach()");
        self.0.requires_grad.set(on);
        self
    }
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }
    pub(crate) fn node(&self) -> Option<&Node> {
        self.0.node.as_ref()
    }
    pub fn storage(&self) -> Ref<'_, Storage> {
        self.0.storage.borrow()
    }
    /// In-place access for optimisers and state loading. Shared by reshaped views.
    pub fn storage_mut(&self) -> RefMut<'_, Storage> {
        self.0.storage.borrow_mut()
    }
    /// Replaces the contents (same shape) with host data, e.g. when loading a checkpoint.
    pub fn assign_f32(&self, data: &[f32]) {
        assert_eq!(
            data.len(),
            self.numel(),
            "assign_f32: {} values for shape {:?}",
            data.len(),
            self.shape()
        );
        *self.storage_mut() = self.device().from_f32(data, self.dtype());
    }
    pub fn assign_f64(&self, data: &[f64]) {
        assert_eq!(
            data.len(),
            self.numel(),
            "assign_f64: {} values for shape {:?}",
            data.len(),
            self.shape()
        );
        *self.storage_mut() = self.device().from_f64(data, self.dtype());
    }
    pub fn to_vec_f32(&self) -> Vec<f32> {
        self.device().to_f32(&self.storage())
    }
    pub fn to_vec_f64(&self) -> Vec<f64> {
        self.device().to_f64(&self.storage())
    }
    /// The value of a one-element tensor (synchronises with the device).
    pub fn item(&self) -> f64 {
        assert_eq!(self.numel(), 1, "item() on a tensor of shape {:?}", self.shape());
        self.to_vec_f64()[0]
    }

    /// Same data, cut from the graph: gradients stop here.
    pub fn detach(&self) -> Tensor {
        Tensor::make(self.0.storage.clone(), self.shape(), self.dtype(), self.device(), None)
    }

    /// A deep copy that owns its storage (not recorded).
    pub fn copy(&self) -> Tensor {
        let s = self.device().clone_storage(&self.storage());
        Tensor::from_storage(s, self.shape(), self.device())
    }
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn check_len(len: usize, shape: &[usize]) {
    assert_eq!(len, numel(shape), "{} values for shape {:?}", len, shape);
}
