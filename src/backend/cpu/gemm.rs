//! A safe, bounds-checked front to the `gemm` crate for row-major slices.

use gemm::Parallelism;

use super::float::Elem;

/// Below this many multiply-adds a product runs on the calling thread.
const PAR_MACS: usize = 1 << 18;

/// A read-only matrix operand: element (i, j) is data[i * rs + j * cs].
#[derive(Clone, Copy)]
pub struct Mat<'a, T> {
    data: &'a [T],
    rs: usize,
    cs: usize,
}

impl<'a, T> Mat<'a, T> {
    /// Row-major storage with `ld` elements per row.
    pub fn row_major(data: &'a [T], ld: usize) -> Self {
        Mat { data, rs: ld, cs: 1 }
    }
    /// The transpose of a row-major matrix with `ld` elements per row.
    pub fn transposed(data: &'a [T], ld: usize) -> Self {
        Mat { data, rs: 1, cs: ld }
    }
    fn check(&self, rows: usize, cols: usize, what: &str) {
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * self.rs + (cols - 1) * self.cs;
            assert!(
                last < self.data.len(),
                "matmul: operand {what} ({rows}x{cols}) needs {} elements, has {}",
                last + 1,
                self.data.len()
            );
        }
    }
}

/// dst[m, n] (row-major, `ld` per row) = (accumulate ? dst : 0) + scale * a[m, k] b[k, n].
#[allow(clippy::too_many_arguments)]
pub fn matmul<T: Elem>(
    dst: &mut [T],
    ld: usize,
    accumulate: bool,
    a: Mat<T>,
    b: Mat<T>,
    m: usize,
    n: usize,
    k: usize,
    scale: T,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        n <= ld && (m - 1) * ld + n <= dst.len(),
        "matmul: destination {m}x{n} (ld {ld}) does not fit {} elements",
        dst.len()
    );
    if k == 0 {
        if !accumulate {
            (0..m).for_each(|i| dst[i * ld..i * ld + n].fill(T::zero()));
        }
        return;
    }
    a.check(m, k, "a");
    b.check(k, n, "b");
    let par = if m * n * k >= PAR_MACS { Parallelism::Rayon(0) } else { Parallelism::None };
    // SAFETY: every index the product touches was bounds-checked above; dst is borrowed
    // mutably and cannot alias the shared operands.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            ld as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            T::one(),
            scale,
            false,
            false,
            false,
            par,
        );
    }
}
