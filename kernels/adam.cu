// Fused Adam step (PyTorch semantics, L2 weight decay added to the gradient):
//   g = grad + wd*p;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
//   p -= step_size * m / (sqrt(v)/bc2_sqrt + eps)
// with step_size = lr/(1 - b1^t) and bc2_sqrt = sqrt(1 - b2^t) computed on the host.
//
// adam_step  1-D grid-stride, block 256. Per element reads 16 B (p, grad, m, v), writes
//            12 B (p, m, v); ~12 FLOPs and one sqrt.
#include "prelude.cuh"

extern "C" __global__ void adam_step(float* __restrict__ p, const float* __restrict__ grad, float* __restrict__ m,
                                     float* __restrict__ v, int n, float b1, float b2, float one_minus_b1,
                                     float one_minus_b2, float eps, float wd, float step_size, float bc2_sqrt) {
    GRID_STRIDE(i, n) {
        const float pi = p[i];
        const float g = grad[i] + wd * pi;
        const float mi = b1 * m[i] + one_minus_b1 * g;
        const float vi = b2 * v[i] + one_minus_b2 * g * g;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}
