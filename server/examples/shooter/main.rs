//! A second game on snapwire: a team shooter (see `game.rs`).
//!
//! ```text
//! cargo run --release -p snapwire-server --example shooter
//! cargo run --release -p snapwire-server --example shooter -- --listen 127.0.0.1:7778 --view-radius 400
//! ```
//!
//! Every flag of `snapwire-server` works here too (`--help`): this is the
//! same command line with another game. Its page, served at
//! `http://127.0.0.1:7777/`, is the TypeScript SDK's build of
//! `clients/ts/demo/shooter.ts`.

// The tests play this module too, and use what the binary does not.
#[allow(dead_code)]
mod game;

use snapwire_server::game::GameSpec;

fn main() -> anyhow::Result<()> {
    let page = include_str!("../../../clients/ts/dist/demo/shooter.html");
    snapwire_server::cli::main(GameSpec::new(game::Shooter::default)?.with_page(page))
}
