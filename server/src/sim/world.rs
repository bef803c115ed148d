//! The entities of one room.

use slab::Slab;
use snapwire_shared::{Body, EntityId, InputCmd, NetEntity};

/// Where an entity lives in the world's slab. Internal to the server: slots
/// are reused, so clients only ever see [`EntityId`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EntityKey(pub(crate) usize);

/// One simulated entity.
#[derive(Clone, Debug)]
pub struct Entity {
    /// Network identity; never reused within the room.
    pub id: EntityId,
    /// Physical state, advanced by the game rules.
    pub body: Body,
    /// The controlling player's input for the current tick (default for
    /// entities nobody controls).
    pub input: InputCmd,
}

/// All entities of a room, in a slab, plus their order by id.
#[derive(Debug)]
pub struct World {
    /// Entity storage; keys are reused after despawn.
    entities: Slab<Entity>,
    /// Slab keys sorted by ascending entity id. Ids only grow, so a spawn
    /// appends; snapshots need this order and get it without sorting.
    order: Vec<usize>,
    /// The next id to issue; starts at 1 because 0 is never an entity.
    next_id: u32,
    /// Side of the square arena.
    size: f32,
}

impl World {
    /// An empty world of side `size`.
    pub fn new(size: f32) -> Self {
        World {
            entities: Slab::new(),
            order: Vec::new(),
            next_id: 1,
            size,
        }
    }

    /// Side of the square arena, world units.
    pub fn size(&self) -> f32 {
        self.size
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether the world holds no entity.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Adds an entity with a fresh id.
    pub fn spawn(&mut self, body: Body) -> (EntityKey, EntityId) {
        let id = EntityId(self.next_id);
        // 2^32 spawns in one room would wrap; at 1,000 spawns a second that
        // is 50 days of one room. Skip 0 if it ever happens.
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let key = self.entities.insert(Entity {
            id,
            body,
            input: InputCmd::default(),
        });
        self.order.push(key);
        (EntityKey(key), id)
    }

    /// Removes an entity; returns it if it existed.
    pub fn despawn(&mut self, key: EntityKey) -> Option<Entity> {
        let id = self.entities.get(key.0)?.id;
        let entities = &self.entities;
        match self.order.binary_search_by_key(&id, |&k| entities[k].id) {
            Ok(i) => {
                self.order.remove(i);
            }
            // Only after an id wrap-around could the order not be sorted.
            Err(_) => self.order.retain(|&k| k != key.0),
        }
        Some(self.entities.remove(key.0))
    }

    /// One entity.
    pub fn get(&self, key: EntityKey) -> Option<&Entity> {
        self.entities.get(key.0)
    }

    /// One entity, mutably.
    pub fn get_mut(&mut self, key: EntityKey) -> Option<&mut Entity> {
        self.entities.get_mut(key.0)
    }

    /// All entities, in no particular order.
    pub fn entities_mut(&mut self) -> impl Iterator<Item = &mut Entity> {
        self.entities.iter_mut().map(|(_, e)| e)
    }

    /// All entities with their keys, by ascending id.
    pub fn iter_by_id(&self) -> impl Iterator<Item = (EntityKey, &Entity)> {
        self.order
            .iter()
            .map(|&k| (EntityKey(k), &self.entities[k]))
    }

    /// Writes the quantised state of every entity, by ascending id, into `out`.
    pub fn quantise_into(&self, out: &mut Vec<NetEntity>) {
        out.clear();
        out.reserve(self.order.len());
        out.extend(self.order.iter().map(|&k| {
            let e = &self.entities[k];
            NetEntity::from_body(e.id, &e.body)
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec2;

    fn body(x: f32) -> Body {
        Body {
            pos: Vec2::new(x, 0.0),
            ..Body::default()
        }
    }

    #[test]
    fn ids_are_never_reused_even_when_slots_are() {
        let mut w = World::new(1000.0);
        let (k1, id1) = w.spawn(body(1.0));
        w.despawn(k1).expect("entity 1 exists");
        let (k2, id2) = w.spawn(body(2.0));
        assert_eq!(k1, k2, "the slab reuses the slot");
        assert_ne!(id1, id2, "but the entity gets a new id");
        assert!(id2 > id1);
    }

    #[test]
    fn iteration_is_by_ascending_id_after_churn() {
        let mut w = World::new(1000.0);
        let keys: Vec<_> = (0..10).map(|i| w.spawn(body(i as f32)).0).collect();
        for k in [keys[3], keys[0], keys[7]] {
            w.despawn(k);
        }
        for i in 0..5 {
            w.spawn(body(100.0 + i as f32));
        }
        let ids: Vec<u32> = w.iter_by_id().map(|(_, e)| e.id.0).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        assert_eq!(ids.len(), 12);
        assert_eq!(w.len(), 12);
    }

    #[test]
    fn despawning_twice_is_harmless() {
        let mut w = World::new(1000.0);
        let (k, _) = w.spawn(body(0.0));
        assert!(w.despawn(k).is_some());
        assert!(w.despawn(k).is_none());
        assert!(w.is_empty());
    }
}
