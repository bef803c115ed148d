//! `snapwire-server`: the command line ([`snapwire_server::cli`]) with the
//! built-in arena and its demo page.

use snapwire_server::game::GameSpec;

fn main() -> anyhow::Result<()> {
    snapwire_server::cli::main(GameSpec::arena())
}
