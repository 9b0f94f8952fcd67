//! Link set-up for every binary and test of medfen-models (see medfen-build), and the
//! autocast shim (`csrc/autocast.cpp`: the autocast dtype and CPU autocast, which tch
//! does not expose).
fn main() {
    medfen_build::compile_libtorch_shim("medfen_autocast", &["csrc/autocast.cpp"]);
    medfen_build::link_libtorch();
}
