//! The link set-up of every binary and test that links libtorch (medfen-models' and
//! medfen-torch's), called from their build scripts:
//!
//! ```no_run
//! // in build.rs's `main`:
//! medfen_build::link_libtorch();
//! ```
//!
//! - **Relocatable rpaths.** The binaries find libtorch through paths relative to
//!   themselves (`$ORIGIN`), never through an absolute path into the checkout:
//!   `$ORIGIN/../lib` first (an installed bundle: `bin/` beside `lib/`, as
//!   `cargo xtask dist` lays it out), then the provisioned kit relative to cargo's
//!   output folders (`target/<profile>/` for binaries, `target/<profile>/deps/` for
//!   tests). A binary copied elsewhere without a `lib/` beside it finds nothing, rather
//!   than a stale kit in some checkout. Only when the kit and the target folder share
//!   no common ancestor is the kit's absolute path used.
//! - **A CUDA libtorch that loads.** `--no-as-needed -ltorch`: with a CUDA libtorch,
//!   nothing references libtorch_cuda directly and the linker would drop it, leaving
//!   `Cuda::is_available()` false (tch-rs issues #907/#980). Keeping `libtorch.so` in
//!   DT_NEEDED loads libtorch_cuda. With the CPU kit `libtorch.so` is an empty linker
//!   script and this adds nothing.
//! - **Shims.** [`compile_libtorch_shim`] compiles the few lines of C++ a crate needs
//!   against the same libtorch's headers.
#![warn(missing_docs)]
// A build script reports to cargo on stdout.
#![allow(clippy::print_stdout)]

use std::path::{Component, Path, PathBuf};

/// `to` relative to `from` (both absolute), or `None` when they share no root.
pub fn relative_path(from: &Path, to: &Path) -> Option<PathBuf> {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut rel = PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    for c in &to[common..] {
        rel.push(c);
    }
    Some(rel)
}

/// The rpath entries of a binary in cargo's profile folder `profile` (and its `deps/`)
/// that finds libtorch in `lib`.
pub fn rpath_entries(profile: &Path, lib: &Path) -> Vec<String> {
    let mut entries = vec!["$ORIGIN/../lib".to_owned()];
    match relative_path(profile, lib) {
        Some(rel) => {
            entries.push(format!("$ORIGIN/{}", rel.display()));
            entries.push(format!("$ORIGIN/../{}", rel.display()));
        }
        None => entries.push(lib.display().to_string()),
    }
    entries
}

/// Compiles C++ `sources` against the provisioned libtorch's headers into a static
/// library `name` linked into the calling crate (for the few libtorch calls tch does
/// not wrap). The headers are found beside the libtorch that torch-sys links
/// (`<libtorch>/include`), with torch-sys' C++ standard and ABI flags.
///
/// # Panics
/// When torch-sys did not report its libtorch (a build script cannot recover).
pub fn compile_libtorch_shim(name: &str, sources: &[&str]) {
    let lib = std::env::var_os("DEP_TCH_LIBTORCH_LIB")
        .map(PathBuf::from)
        .expect("torch-sys reports DEP_TCH_LIBTORCH_LIB");
    let root = lib.parent().map_or_else(|| lib.clone(), Path::to_path_buf);
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    for source in sources {
        println!("cargo:rerun-if-changed={source}");
    }
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .files(sources)
        .compile(name);
}

/// Emits the link arguments described in the crate documentation (Linux only).
pub fn link_libtorch() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let lib = std::env::var_os("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from);
    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out.
    let profile = std::env::var_os("OUT_DIR")
        .map(PathBuf::from)
        .and_then(|out| out.ancestors().nth(3).map(Path::to_path_buf));
    if let (Some(lib), Some(profile)) = (lib, profile) {
        // Not canonicalised: `.libtorch/active` stays a link, so switching kits needs
        // no relink.
        let rpath = rpath_entries(&profile, &lib).join(":");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{rpath}");
    }
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpaths_are_relative_to_the_binary() {
        let entries = rpath_entries(
            Path::new("/work/main/target/debug"),
            Path::new("/work/main/.libtorch/cpu-2.13.0/lib"),
        );
        assert_eq!(
            entries,
            [
                "$ORIGIN/../lib",
                "$ORIGIN/../../.libtorch/cpu-2.13.0/lib",
                "$ORIGIN/../../../.libtorch/cpu-2.13.0/lib",
            ]
        );
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b/c")),
            Some(PathBuf::from("c"))
        );
    }
}
