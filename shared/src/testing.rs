//! Proptest strategies for random worlds, shared by this crate's tests.

use crate::ids::EntityId;
use crate::quant::NetEntity;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

fn arb_state() -> impl Strategy<Value = (i32, i32, i16, i16, u16)> {
    // Mostly small, near-world values, sometimes the extremes.
    let pos = prop_oneof![4 => -20_000i32..20_000, 1 => any::<i32>()];
    let vel = prop_oneof![4 => -1_600i16..1_600, 1 => any::<i16>()];
    (pos.clone(), pos, vel.clone(), vel, any::<u16>())
}

fn entity(id: u32, (x, y, vx, vy, yaw): (i32, i32, i16, i16, u16)) -> NetEntity {
    NetEntity {
        id: EntityId(id),
        x,
        y,
        vx,
        vy,
        yaw,
    }
}

/// An entity at `x` (position quanta), everything else zero.
pub fn ent(id: u32, x: i32) -> NetEntity {
    NetEntity {
        id: EntityId(id),
        x,
        y: 0,
        vx: 0,
        vy: 0,
        yaw: 0,
    }
}

/// A view: entities sorted by unique, non-zero id.
pub fn arb_view() -> impl Strategy<Value = Vec<NetEntity>> {
    btree_map(1u32..100_000, arb_state(), 0..64)
        .prop_map(|m| m.into_iter().map(|(id, s)| entity(id, s)).collect())
}

/// What happens to one baseline entity between two snapshots.
#[derive(Clone, Debug)]
enum Fate {
    Same,
    Moved(i32, i32),
    Changed((i32, i32, i16, i16, u16)),
    Removed,
}

fn arb_fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        3 => Just(Fate::Same),
        4 => (-200i32..200, -200i32..200).prop_map(|(dx, dy)| Fate::Moved(dx, dy)),
        1 => arb_state().prop_map(Fate::Changed),
        2 => Just(Fate::Removed),
    ]
}

/// A baseline view and a later view of the same world: entities kept,
/// moved, changed, removed, and new ones spawned.
pub fn arb_transition() -> impl Strategy<Value = (Vec<NetEntity>, Vec<NetEntity>)> {
    arb_view()
        .prop_flat_map(|base| {
            let fates = vec(arb_fate(), base.len());
            let spawns = btree_map(1u32..200_000, arb_state(), 0..32);
            (Just(base), fates, spawns)
        })
        .prop_map(|(base, fates, spawns)| {
            let mut cur: Vec<NetEntity> = Vec::new();
            for (e, fate) in base.iter().zip(fates) {
                match fate {
                    Fate::Same => cur.push(*e),
                    Fate::Moved(dx, dy) => cur.push(NetEntity {
                        x: e.x.wrapping_add(dx),
                        y: e.y.wrapping_add(dy),
                        ..*e
                    }),
                    Fate::Changed(s) => cur.push(entity(e.id.0, s)),
                    Fate::Removed => {}
                }
            }
            for (id, s) in spawns {
                if base.binary_search_by_key(&EntityId(id), |e| e.id).is_err() {
                    cur.push(entity(id, s));
                }
            }
            cur.sort_by_key(|e| e.id);
            (base, cur)
        })
}
