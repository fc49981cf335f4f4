//! Link-time settings of the `jirapipe` binary.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        // Packed relative relocations (DT_RELR, glibc 2.36+): the position-independent binary
        // otherwise carries 7 MB of relocation records that the loader reads at every start
        // and that stay resident all run (bench/RESULTS.md). An older `ld` ignores the option
        // with a warning and links as before.
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
