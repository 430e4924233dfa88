//! Prints a configuration file as Ember loads it (`/api/v1/status/config` form).
//!
//! `cargo run -p ember-config --example print_config -- prometheus.yml`

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: print_config <prometheus.yml>");
        std::process::exit(2);
    };
    match ember_config::Config::load(&path) {
        Ok(cfg) => print!("{}", cfg.to_yaml()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
