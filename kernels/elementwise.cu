// Elementwise kernels: activations forward/backward, same-shape binary ops, affine
// a*x+b, scaling by a one-element device scalar, in-place accumulation, fill and
// broadcast of a device scalar.
//
// Launch shape (all kernels): 1-D grid-stride loop, block 256, grid min(ceil(n/256), 2048).
// Memory-bound; per element (f32):
//   unary_fwd        read 4 B, write 4 B            (1-20 FLOPs: tanh/sigmoid ~20)
//   unary_bwd        read 8 B (x or y, gy), write 4 B
//   binary           read 8 B, write 4 B            1 FLOP
//   affine           read 4 B, write 4 B            2 FLOPs
//   mul_scalar_dev   read 4 B, write 4 B            1 FLOP (+ one broadcast read of s[0])
//   add_inplace      read 8 B, write 4 B            1 FLOP
//   fill, broadcast  write 4 B
#include "prelude.cuh"

// Op codes: UNARY_* and BINARY_* of kernels/constants.txt.

__device__ __forceinline__ float unary_apply(int op, float x, float alpha) {
    switch (op) {
    case UNARY_RELU: return x > 0.0f ? x : 0.0f;
    case UNARY_LEAKY: return x > 0.0f ? x : alpha * x;
    case UNARY_TANH: return tanhf(x);
    case UNARY_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case UNARY_ABS: return fabsf(x);
    default: return x * x;
    }
}

// y = op(x); alpha is the leaky slope.
extern "C" __global__ void unary_fwd(const float* __restrict__ x, float* __restrict__ y, int n, int op, float alpha) {
    GRID_STRIDE(i, n) y[i] = unary_apply(op, x[i], alpha);
}

// gx = gy * op'(x); tanh and sigmoid take the derivative from y = op(x).
extern "C" __global__ void unary_bwd(const float* __restrict__ x, const float* __restrict__ y, const float* __restrict__ gy,
                                     float* __restrict__ gx, int n, int op, float alpha) {
    GRID_STRIDE(i, n) {
        float g = gy[i], r;
        switch (op) {
        case UNARY_RELU: r = x[i] > 0.0f ? g : 0.0f; break;
        case UNARY_LEAKY: r = x[i] > 0.0f ? g : alpha * g; break;
        case UNARY_TANH: { float t = y[i]; r = g * (1.0f - t * t); break; }
        case UNARY_SIGMOID: { float s = y[i]; r = g * s * (1.0f - s); break; }
        case UNARY_ABS: { float v = x[i]; r = v > 0.0f ? g : (v < 0.0f ? -g : 0.0f); break; }
        default: r = 2.0f * x[i] * g; break;
        }
        gx[i] = r;
    }
}

// out = a (op) b: BINARY_ADD, BINARY_SUB, BINARY_MUL.
extern "C" __global__ void binary(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out, int n, int op) {
    GRID_STRIDE(i, n) {
        float u = a[i], v = b[i];
        out[i] = op == BINARY_ADD ? u + v : (op == BINARY_SUB ? u - v : u * v);
    }
}

// y = a * x + b.
extern "C" __global__ void affine(const float* __restrict__ x, float* __restrict__ y, int n, float a, float b) {
    GRID_STRIDE(i, n) y[i] = a * x[i] + b;
}

// y = x * s[0]: s is a one-element device buffer (a gradient scalar), read on the device
// so no host synchronisation is needed.
extern "C" __global__ void mul_scalar_dev(const float* __restrict__ x, const float* __restrict__ s, float* __restrict__ y, int n) {
    const float k = s[0];
    GRID_STRIDE(i, n) y[i] = x[i] * k;
}

// acc += x.
extern "C" __global__ void add_inplace(float* __restrict__ acc, const float* __restrict__ x, int n) {
    GRID_STRIDE(i, n) acc[i] += x[i];
}

// y = value.
extern "C" __global__ void fill(float* __restrict__ y, int n, float value) {
    GRID_STRIDE(i, n) y[i] = value;
}

// y = s[0] * scale.
extern "C" __global__ void broadcast_scalar(const float* __restrict__ s, float* __restrict__ y, int n, float scale) {
    const float v = s[0] * scale;
    GRID_STRIDE(i, n) y[i] = v;
}
