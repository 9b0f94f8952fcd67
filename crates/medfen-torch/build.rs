//! Link set-up for every binary and test of medfen-torch: see medfen-build.
fn main() {
    medfen_build::link_libtorch();
}
