//! `snapwire-server`: the command line ([`snapwire_server::cli`]) with the
//! built-in arena.

use snapwire_server::game::GameSpec;
use snapwire_server::game::arena::Arena;

fn main() -> anyhow::Result<()> {
    snapwire_server::cli::main(GameSpec::new(|| Arena)?)
}
