//! Link set-up for every binary and test of medfen-models.
//!
//! - An rpath to the libtorch libraries torch-sys linked against, so executables run
//!   without `LD_LIBRARY_PATH`.
//! - `--no-as-needed -ltorch`: with a CUDA libtorch, nothing references libtorch_cuda
//!   directly and the linker would drop it, leaving `Cuda::is_available()` false (tch-rs
//!   issues #907/#980). Keeping `libtorch.so` in DT_NEEDED loads libtorch_cuda. With the
//!   CPU kit `libtorch.so` is an empty linker script and this adds nothing.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
}
