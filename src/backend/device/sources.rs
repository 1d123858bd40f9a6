//! The kernel sources, embedded by build.rs: `HEADERS` (name, text: `kernels/*.cuh` and the
//! generated `constants.cuh`), `SOURCES` (module, text) and
//! `KERNELS` (module, entry points) for every `kernels/<module>.cu`.

include!(concat!(env!("OUT_DIR"), "/kernels.rs"));

/// The source of `kernels/<module>.cu`.
pub fn source(module: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(m, _)| *m == module).map(|(_, s)| *s)
}
