//! Field-wise deltas between two views of the world.
//!
//! A view is a list of [`NetEntity`] sorted by id. [`diff`] turns a baseline
//! view and a current view into an [`EntityDelta`]: the ids that left, the
//! field changes of those that stayed, the full state of those that arrived.
//! An entity whose quantised state did not change costs nothing.
//!
//! On the wire (see `docs/PROTOCOL.md`) every list is sorted by id and each id
//! is sent as the gap from the previous one in its list, so the ids of a
//! local neighbourhood cost one byte each; an update carries a field mask and
//! the wrapping difference of each changed field as a zigzag varint.

use crate::ids::EntityId;
use crate::quant::NetEntity;
use crate::varint;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde::ser::{self, SerializeSeq, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

mod encoded;
pub use encoded::{EncodedDelta, EncodedUpdates, WriteDeltaError};

/// Changes to one entity that is in both the baseline and the current view.
///
/// Each field is the wrapping difference `current - baseline`; zero means
/// "unchanged" and is not sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EntityUpdate {
    /// Which entity.
    pub id: EntityId,
    /// Change of `x`, position quanta.
    pub dx: i32,
    /// Change of `y`, position quanta.
    pub dy: i32,
    /// Change of `vx`, velocity quanta.
    pub dvx: i16,
    /// Change of `vy`, velocity quanta.
    pub dvy: i16,
    /// Wrapping change of `yaw`, yaw quanta.
    pub dyaw: i16,
}

/// Field mask bits of an update on the wire.
mod mask {
    pub const X: u8 = 1 << 0;
    pub const Y: u8 = 1 << 1;
    pub const VX: u8 = 1 << 2;
    pub const VY: u8 = 1 << 3;
    pub const YAW: u8 = 1 << 4;
    pub const ALL: u8 = X | Y | VX | VY | YAW;
}

impl EntityUpdate {
    /// The changes from `base` to `cur` (same id), or `None` if nothing changed.
    pub fn between(base: &NetEntity, cur: &NetEntity) -> Option<EntityUpdate> {
        let u = EntityUpdate {
            id: cur.id,
            dx: cur.x.wrapping_sub(base.x),
            dy: cur.y.wrapping_sub(base.y),
            dvx: cur.vx.wrapping_sub(base.vx),
            dvy: cur.vy.wrapping_sub(base.vy),
            dyaw: cur.yaw.wrapping_sub(base.yaw) as i16,
        };
        (u.mask() != 0).then_some(u)
    }

    /// Applies the changes to `e`.
    pub fn apply_to(&self, e: &mut NetEntity) {
        e.x = e.x.wrapping_add(self.dx);
        e.y = e.y.wrapping_add(self.dy);
        e.vx = e.vx.wrapping_add(self.dvx);
        e.vy = e.vy.wrapping_add(self.dvy);
        e.yaw = e.yaw.wrapping_add(self.dyaw as u16);
    }

    fn mask(&self) -> u8 {
        let mut m = 0;
        if self.dx != 0 {
            m |= mask::X;
        }
        if self.dy != 0 {
            m |= mask::Y;
        }
        if self.dvx != 0 {
            m |= mask::VX;
        }
        if self.dvy != 0 {
            m |= mask::VY;
        }
        if self.dyaw != 0 {
            m |= mask::YAW;
        }
        m
    }
}

/// The difference between two views: what a snapshot carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntityDelta {
    /// Ids in the baseline but not in the current view, ascending.
    pub removed: Vec<EntityId>,
    /// Changed entities in both views, ascending by id.
    pub updated: Vec<EntityUpdate>,
    /// Entities in the current view but not in the baseline, ascending by id.
    pub spawned: Vec<NetEntity>,
}

impl EntityDelta {
    /// Empties the lists, keeping their allocations.
    pub fn clear(&mut self) {
        self.removed.clear();
        self.updated.clear();
        self.spawned.clear();
    }

    /// Whether applying this delta changes nothing.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.updated.is_empty() && self.spawned.is_empty()
    }

    /// Appends the delta's wire encoding to `out`.
    ///
    /// The bytes are exactly what bincode's `standard()` configuration makes
    /// of the [`Serialize`] impl below, which stays the definition of the
    /// format (and encodes whole messages); this is the same encoding
    /// written directly, for the per-client hot path. Tests compare the two
    /// byte for byte.
    pub fn write_wire(&self, out: &mut Vec<u8>) -> Result<(), UnorderedIds> {
        let max = 3 * varint::MAX_LEN
            + self.removed.len() * varint::MAX_U32
            + self.updated.len() * UPDATE_MAX
            + self.spawned.len() * SPAWN_MAX;
        varint::append(out, max, |w| {
            write_removed(w, &self.removed)?;
            w.len(self.updated.len());
            let mut gaps = Gaps::default();
            for u in &self.updated {
                w.u32(gaps.gap_to(u.id)?);
                u.write_body(w);
            }
            write_spawned(w, &self.spawned)
        })
    }
}

/// Most bytes one update takes after its id: the mask and every field.
const UPDATE_BODY_MAX: usize = 1 + 2 * varint::MAX_U32 + 3 * varint::MAX_U16;
/// Most bytes one update takes, id included.
const UPDATE_MAX: usize = varint::MAX_U32 + UPDATE_BODY_MAX;
/// Most bytes one spawned entity takes, id included.
const SPAWN_MAX: usize = 3 * varint::MAX_U32 + 3 * varint::MAX_U16;

impl EntityUpdate {
    /// Writes what follows the id in the update list: the mask, then each
    /// changed field (at most [`UPDATE_BODY_MAX`] bytes).
    fn write_body(&self, w: &mut varint::SliceWriter<'_>) {
        let m = self.mask();
        w.u8(m);
        if m & mask::X != 0 {
            w.i32(self.dx);
        }
        if m & mask::Y != 0 {
            w.i32(self.dy);
        }
        if m & mask::VX != 0 {
            w.i16(self.dvx);
        }
        if m & mask::VY != 0 {
            w.i16(self.dvy);
        }
        if m & mask::YAW != 0 {
            w.i16(self.dyaw);
        }
    }
}

/// Writes the removed list, length first: the first of a delta's lists.
fn write_removed(
    w: &mut varint::SliceWriter<'_>,
    removed: &[EntityId],
) -> Result<(), UnorderedIds> {
    w.len(removed.len());
    let mut gaps = Gaps::default();
    for &id in removed {
        w.u32(gaps.gap_to(id)?);
    }
    Ok(())
}

/// Writes the spawned list, length first: the last of a delta's lists.
fn write_spawned(
    w: &mut varint::SliceWriter<'_>,
    spawned: &[NetEntity],
) -> Result<(), UnorderedIds> {
    w.len(spawned.len());
    let mut gaps = Gaps::default();
    for e in spawned {
        w.u32(gaps.gap_to(e.id)?);
        w.i32(e.x);
        w.i32(e.y);
        w.i16(e.vx);
        w.i16(e.vy);
        w.u16(e.yaw);
    }
    Ok(())
}

impl EntityDelta {
    /// Reads a delta written by [`EntityDelta::write_wire`] (or by bincode
    /// through the serde impls below): the same values, and the same
    /// refusals at the same byte, as the serde path, which tests check on
    /// valid, mutated and cut messages. It exists because clients decode a
    /// full view's thousand entities per snapshot, and serde spends most of
    /// a bot's decoding time on its generic machinery.
    pub(crate) fn read_wire(r: &mut varint::SliceReader<'_>) -> Result<Self, varint::ReadError> {
        use varint::ReadError::Malformed;
        let mut d = EntityDelta::default();
        let mut ids = ListIds::new(r.len()?, r.remaining());
        d.removed.reserve(ids.reserve);
        while ids.more() {
            let g = r.u32()?;
            d.removed.push(ids.next(g)?);
        }
        let mut ids = ListIds::new(r.len()?, r.remaining());
        d.updated.reserve(ids.reserve);
        while ids.more() {
            let g = r.u32()?;
            let m = r.u8()?;
            if m == 0 || m & !mask::ALL != 0 {
                return Err(Malformed);
            }
            let mut u = EntityUpdate::default();
            if m & mask::X != 0 {
                u.dx = r.i32()?;
            }
            if m & mask::Y != 0 {
                u.dy = r.i32()?;
            }
            if m & mask::VX != 0 {
                u.dvx = r.i16()?;
            }
            if m & mask::VY != 0 {
                u.dvy = r.i16()?;
            }
            if m & mask::YAW != 0 {
                u.dyaw = r.i16()?;
            }
            if u.mask() != m {
                return Err(Malformed);
            }
            u.id = ids.next(g)?;
            d.updated.push(u);
        }
        let mut ids = ListIds::new(r.len()?, r.remaining());
        d.spawned.reserve(ids.reserve);
        while ids.more() {
            let g = r.u32()?;
            let (x, y, vx, vy, yaw) = (r.i32()?, r.i32()?, r.i16()?, r.i16()?, r.u16()?);
            d.spawned.push(NetEntity {
                id: ids.next(g)?,
                x,
                y,
                vx,
                vy,
                yaw,
            });
        }
        Ok(d)
    }
}

/// Absolute ids from the gaps of one list being read, with the serde
/// path's checks (see `ListSeed`).
struct ListIds {
    left: usize,
    gaps: Gaps,
    /// What to reserve: never trust a length prefix for allocation. Each
    /// item takes at least a byte, and the cap is `ListSeed`'s.
    reserve: usize,
}

impl ListIds {
    fn new(len: usize, remaining: usize) -> Self {
        ListIds {
            left: len,
            gaps: Gaps::default(),
            reserve: len.min(remaining).min(1024),
        }
    }

    fn more(&mut self) -> bool {
        let more = self.left > 0;
        self.left = self.left.saturating_sub(1);
        more
    }

    fn next(&mut self, gap: u32) -> Result<EntityId, varint::ReadError> {
        self.gaps.id_after(gap).ok_or(varint::ReadError::Malformed)
    }
}

/// A delta list whose ids are zero or not strictly ascending: a bug in
/// whoever built the delta, since [`diff`] never makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("entity ids must be non-zero and strictly ascending, found {0} out of order")]
pub struct UnorderedIds(pub EntityId);

/// Id gaps along one list, both ways: every encoder and decoder of a
/// delta list (serde's and the direct ones) goes through this.
#[derive(Default)]
struct Gaps {
    prev: u32,
}

impl Gaps {
    /// Writing: the gap from the previous id to `id`. The first id must be
    /// above 0, every later one above its predecessor.
    fn gap_to(&mut self, id: EntityId) -> Result<u32, UnorderedIds> {
        if id.0 <= self.prev {
            return Err(UnorderedIds(id));
        }
        let g = id.0 - self.prev;
        self.prev = id.0;
        Ok(g)
    }

    /// Reading: the id `gap` after the previous one; `None` for a zero gap
    /// (ids must strictly ascend) or an id past `u32::MAX`.
    fn id_after(&mut self, gap: u32) -> Option<EntityId> {
        if gap == 0 {
            return None;
        }
        self.prev = self.prev.checked_add(gap)?;
        Some(EntityId(self.prev))
    }
}

/// Writes into `out` the delta that turns `base` into `cur`.
///
/// Both views must be sorted by id without duplicates. Linear in the two
/// lengths; reuses `out`'s allocations.
pub fn diff(base: &[NetEntity], cur: &[NetEntity], out: &mut EntityDelta) {
    out.clear();
    let Ok(()) = merge::<std::convert::Infallible>(
        base,
        cur,
        |id| out.removed.push(id),
        |b, c, _| {
            out.updated.extend(EntityUpdate::between(b, c));
            Ok(())
        },
        |c| out.spawned.push(*c),
    );
}

/// Walks two views sorted by id in step: the merge every delta is built
/// by. Calls `removed` for each entity only in `base`, `kept` for each in
/// both (with its index in `cur`), `spawned` for each only in `cur`, in
/// order of id within each kind; stops at `kept`'s first error.
fn merge<E>(
    base: &[NetEntity],
    cur: &[NetEntity],
    mut removed: impl FnMut(EntityId),
    mut kept: impl FnMut(&NetEntity, &NetEntity, usize) -> Result<(), E>,
    mut spawned: impl FnMut(&NetEntity),
) -> Result<(), E> {
    let (mut i, mut j) = (0, 0);
    while i < base.len() && j < cur.len() {
        let (b, c) = (&base[i], &cur[j]);
        match b.id.cmp(&c.id) {
            std::cmp::Ordering::Less => {
                removed(b.id);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                spawned(c);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                kept(b, c, j)?;
                i += 1;
                j += 1;
            }
        }
    }
    base[i..].iter().for_each(|b| removed(b.id));
    cur[j..].iter().for_each(spawned);
    Ok(())
}

/// Why a delta does not fit the view it was applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The delta removes or updates an entity the view does not have.
    #[error("delta names {0}, which the baseline does not hold")]
    Missing(EntityId),
    /// The delta spawns an entity the view already has.
    #[error("delta spawns {0}, which the baseline already holds")]
    AlreadyPresent(EntityId),
}

/// Applies `delta` to the sorted view `state`, keeping it sorted.
///
/// On error `state` is left unchanged. `scratch` is a reusable buffer.
pub fn apply(
    state: &mut Vec<NetEntity>,
    delta: &EntityDelta,
    scratch: &mut Vec<NetEntity>,
) -> Result<(), ApplyError> {
    scratch.clear();
    scratch.reserve(state.len() + delta.spawned.len());
    let mut removed = delta.removed.iter().peekable();
    let mut updated = delta.updated.iter().peekable();
    let mut spawned = delta.spawned.iter().peekable();
    for e in state.iter() {
        while let Some(s) = spawned.next_if(|s| s.id < e.id) {
            scratch.push(*s);
        }
        if spawned.peek().is_some_and(|s| s.id == e.id) {
            return Err(ApplyError::AlreadyPresent(e.id));
        }
        if let Some(&&r) = removed.peek() {
            if r < e.id {
                return Err(ApplyError::Missing(r));
            }
            if r == e.id {
                removed.next();
                if updated.peek().is_some_and(|u| u.id == e.id) {
                    // Removed and updated at once: not something diff produces.
                    return Err(ApplyError::Missing(e.id));
                }
                continue;
            }
        }
        let mut e = *e;
        if let Some(u) = updated.peek() {
            if u.id < e.id {
                return Err(ApplyError::Missing(u.id));
            }
            if u.id == e.id {
                u.apply_to(&mut e);
                updated.next();
            }
        }
        scratch.push(e);
    }
    if let Some(&r) = removed.next() {
        return Err(ApplyError::Missing(r));
    }
    if let Some(u) = updated.next() {
        return Err(ApplyError::Missing(u.id));
    }
    scratch.extend(spawned.copied());
    std::mem::swap(state, scratch);
    Ok(())
}

// ---------------------------------------------------------------------------
// Wire encoding: id gaps, field masks. Serde drives bincode here, so the
// encoding is expressed as tuples and sequences, which bincode writes as the
// plain concatenation of their elements (sequences with a varint length).

impl Serialize for EntityDelta {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&GapIds(&self.removed))?;
        t.serialize_element(&GapList(&self.updated))?;
        t.serialize_element(&GapList(&self.spawned))?;
        t.end()
    }
}

/// Something listed by ascending id.
trait Keyed {
    fn key(&self) -> EntityId;
}

impl Keyed for EntityUpdate {
    fn key(&self) -> EntityId {
        self.id
    }
}

impl Keyed for NetEntity {
    fn key(&self) -> EntityId {
        self.id
    }
}

struct GapIds<'a>(&'a [EntityId]);

impl Serialize for GapIds<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        let mut gaps = Gaps::default();
        for &id in self.0 {
            seq.serialize_element(&gaps.gap_to(id).map_err(ser::Error::custom)?)?;
        }
        seq.end()
    }
}

struct GapList<'a, T>(&'a [T]);

impl<T: Keyed> Serialize for GapList<'_, T>
where
    for<'b> Gapped<'b, T>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        let mut gaps = Gaps::default();
        for item in self.0 {
            let g = gaps.gap_to(item.key()).map_err(ser::Error::custom)?;
            seq.serialize_element(&Gapped(g, item))?;
        }
        seq.end()
    }
}

/// An item whose id is replaced by its gap on the wire.
struct Gapped<'a, T>(u32, &'a T);

impl Serialize for Gapped<'_, EntityUpdate> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let u = self.1;
        let m = u.mask();
        let mut t = s.serialize_tuple(2 + m.count_ones() as usize)?;
        t.serialize_element(&self.0)?;
        t.serialize_element(&m)?;
        if m & mask::X != 0 {
            t.serialize_element(&u.dx)?;
        }
        if m & mask::Y != 0 {
            t.serialize_element(&u.dy)?;
        }
        if m & mask::VX != 0 {
            t.serialize_element(&u.dvx)?;
        }
        if m & mask::VY != 0 {
            t.serialize_element(&u.dvy)?;
        }
        if m & mask::YAW != 0 {
            t.serialize_element(&u.dyaw)?;
        }
        t.end()
    }
}

impl Serialize for Gapped<'_, NetEntity> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.1;
        (self.0, e.x, e.y, e.vx, e.vy, e.yaw).serialize(s)
    }
}

impl<'de> Deserialize<'de> for EntityDelta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DeltaVisitor;
        impl<'de> Visitor<'de> for DeltaVisitor {
            type Value = EntityDelta;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("removed, updated and spawned lists")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EntityDelta, A::Error> {
                let missing = || de::Error::invalid_length(0, &self);
                let removed = seq
                    .next_element_seed(ListSeed::<IdRaw>::new())?
                    .ok_or_else(missing)?;
                let updated = seq
                    .next_element_seed(ListSeed::<UpdateRaw>::new())?
                    .ok_or_else(missing)?;
                let spawned = seq
                    .next_element_seed(ListSeed::<SpawnRaw>::new())?
                    .ok_or_else(missing)?;
                Ok(EntityDelta {
                    removed,
                    updated,
                    spawned,
                })
            }
        }
        d.deserialize_tuple(3, DeltaVisitor)
    }
}

/// A wire item that carries an id gap and turns into a `T` once the id is known.
trait FromWire<'de>: Deserialize<'de> {
    type Out;
    fn gap(&self) -> u32;
    fn with_id(self, id: EntityId) -> Self::Out;
}

#[derive(Deserialize)]
struct IdRaw(u32);

impl FromWire<'_> for IdRaw {
    type Out = EntityId;
    fn gap(&self) -> u32 {
        self.0
    }
    fn with_id(self, id: EntityId) -> EntityId {
        id
    }
}

#[derive(Deserialize)]
struct SpawnRaw(u32, i32, i32, i16, i16, u16);

impl FromWire<'_> for SpawnRaw {
    type Out = NetEntity;
    fn gap(&self) -> u32 {
        self.0
    }
    fn with_id(self, id: EntityId) -> NetEntity {
        NetEntity {
            id,
            x: self.1,
            y: self.2,
            vx: self.3,
            vy: self.4,
            yaw: self.5,
        }
    }
}

struct UpdateRaw(u32, EntityUpdate);

impl FromWire<'_> for UpdateRaw {
    type Out = EntityUpdate;
    fn gap(&self) -> u32 {
        self.0
    }
    fn with_id(self, id: EntityId) -> EntityUpdate {
        EntityUpdate { id, ..self.1 }
    }
}

impl<'de> Deserialize<'de> for UpdateRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct UpdateVisitor;
        impl<'de> Visitor<'de> for UpdateVisitor {
            type Value = UpdateRaw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id gap, a field mask and the masked fields")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UpdateRaw, A::Error> {
                fn field<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(
                    seq: &mut A,
                ) -> Result<T, A::Error> {
                    seq.next_element()?
                        .ok_or_else(|| de::Error::custom("update ends early"))
                }
                let gap: u32 = field(&mut seq)?;
                let m: u8 = field(&mut seq)?;
                if m == 0 || m & !mask::ALL != 0 {
                    return Err(de::Error::custom("invalid update field mask"));
                }
                let mut u = EntityUpdate::default();
                if m & mask::X != 0 {
                    u.dx = field(&mut seq)?;
                }
                if m & mask::Y != 0 {
                    u.dy = field(&mut seq)?;
                }
                if m & mask::VX != 0 {
                    u.dvx = field(&mut seq)?;
                }
                if m & mask::VY != 0 {
                    u.dvy = field(&mut seq)?;
                }
                if m & mask::YAW != 0 {
                    u.dyaw = field(&mut seq)?;
                }
                if u.mask() != m {
                    // A masked field that is zero: not canonical, and a sign
                    // of a corrupt or hostile message.
                    return Err(de::Error::custom("update carries an unchanged field"));
                }
                Ok(UpdateRaw(gap, u))
            }
        }
        // The length is an upper bound: the visitor reads only masked fields.
        d.deserialize_tuple(7, UpdateVisitor)
    }
}

/// Deserialises a gap-coded list into absolute ids.
struct ListSeed<T>(std::marker::PhantomData<T>);

impl<T> ListSeed<T> {
    fn new() -> Self {
        ListSeed(std::marker::PhantomData)
    }
}

impl<'de, T: FromWire<'de>> DeserializeSeed<'de> for ListSeed<T> {
    type Value = Vec<T::Out>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: FromWire<'de>> Visitor<'de> for ListSeed<T> {
    type Value = Vec<T::Out>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of entities by id gap")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Never trust a length prefix for allocation: cap the reservation.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        let mut gaps = Gaps::default();
        while let Some(item) = seq.next_element::<T>()? {
            let id = gaps.id_after(item.gap()).ok_or_else(|| {
                de::Error::custom("entity ids must strictly ascend and fit a u32")
            })?;
            out.push(item.with_id(id));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{arb_transition, arb_view, ent};
    use proptest::prelude::*;

    #[test]
    fn unchanged_entities_cost_nothing() {
        let view = vec![ent(1, 10), ent(2, 20), ent(9, 90)];
        let mut d = EntityDelta::default();
        diff(&view, &view, &mut d);
        assert!(d.is_empty());
    }

    #[test]
    fn diff_sorts_entities_into_the_three_lists() {
        let base = vec![ent(1, 10), ent(2, 20), ent(3, 30)];
        let cur = vec![ent(2, 21), ent(3, 30), ent(4, 40)];
        let mut d = EntityDelta::default();
        diff(&base, &cur, &mut d);
        assert_eq!(d.removed, vec![EntityId(1)]);
        assert_eq!(
            d.updated,
            vec![EntityUpdate {
                id: EntityId(2),
                dx: 1,
                ..Default::default()
            }]
        );
        assert_eq!(d.spawned, vec![ent(4, 40)]);
    }

    #[test]
    fn a_reused_slot_shows_as_remove_and_spawn() {
        // The server's slab may put entity 7 where entity 3 was; the ids differ,
        // so the client sees 3 leave and 7 arrive, never 3 "teleporting".
        let base = vec![ent(3, 100)];
        let cur = vec![ent(7, 100)];
        let mut d = EntityDelta::default();
        diff(&base, &cur, &mut d);
        assert_eq!(d.removed, vec![EntityId(3)]);
        assert!(d.updated.is_empty());
        assert_eq!(d.spawned, vec![ent(7, 100)]);
    }

    #[test]
    fn apply_refuses_a_delta_for_another_baseline() {
        let mut scratch = Vec::new();
        let mut state = vec![ent(1, 0)];
        let remove_missing = EntityDelta {
            removed: vec![EntityId(2)],
            ..Default::default()
        };
        assert_eq!(
            apply(&mut state, &remove_missing, &mut scratch),
            Err(ApplyError::Missing(EntityId(2)))
        );
        let update_missing = EntityDelta {
            updated: vec![EntityUpdate {
                id: EntityId(5),
                dx: 1,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            apply(&mut state, &update_missing, &mut scratch),
            Err(ApplyError::Missing(EntityId(5)))
        );
        let spawn_present = EntityDelta {
            spawned: vec![ent(1, 3)],
            ..Default::default()
        };
        assert_eq!(
            apply(&mut state, &spawn_present, &mut scratch),
            Err(ApplyError::AlreadyPresent(EntityId(1)))
        );
        assert_eq!(
            state,
            vec![ent(1, 0)],
            "a failed apply leaves the view unchanged"
        );
    }

    #[test]
    fn wrapping_differences_round_trip_at_the_extremes() {
        let base = NetEntity {
            id: EntityId(1),
            x: i32::MIN,
            y: i32::MAX,
            vx: i16::MIN,
            vy: i16::MAX,
            yaw: 0,
        };
        let cur = NetEntity {
            id: EntityId(1),
            x: i32::MAX,
            y: i32::MIN,
            vx: i16::MAX,
            vy: i16::MIN,
            yaw: u16::MAX,
        };
        let u = EntityUpdate::between(&base, &cur).expect("fields differ, so there is an update");
        let mut e = base;
        u.apply_to(&mut e);
        assert_eq!(e, cur);
    }

    #[test]
    fn write_wire_matches_bincode_at_the_extremes() {
        let extreme = |id| NetEntity {
            id: EntityId(id),
            x: i32::MIN,
            y: i32::MAX,
            vx: i16::MIN,
            vy: i16::MAX,
            yaw: u16::MAX,
        };
        let d = EntityDelta {
            removed: vec![
                EntityId(250),
                EntityId(251),
                EntityId(70_000),
                EntityId(u32::MAX),
            ],
            updated: vec![
                EntityUpdate {
                    id: EntityId(1),
                    dx: i32::MIN,
                    dy: i32::MAX,
                    dvx: i16::MIN,
                    dvy: i16::MAX,
                    dyaw: -1,
                },
                EntityUpdate {
                    id: EntityId(65_537),
                    dyaw: 126,
                    ..Default::default()
                },
            ],
            spawned: vec![extreme(300), extreme(u32::MAX)],
        };
        let mut ours = Vec::new();
        d.write_wire(&mut ours).expect("ids ascend");
        let reference =
            bincode::serde::encode_to_vec(&d, bincode::config::standard()).expect("ids ascend");
        assert_eq!(ours, reference);
    }

    #[test]
    fn write_wire_refuses_ids_out_of_order_as_serde_does() {
        let twice = EntityDelta {
            removed: vec![EntityId(5), EntityId(5)],
            ..Default::default()
        };
        let zero = EntityDelta {
            spawned: vec![ent(0, 1)],
            ..Default::default()
        };
        let backwards = EntityDelta {
            updated: vec![
                EntityUpdate {
                    id: EntityId(9),
                    dx: 1,
                    ..Default::default()
                },
                EntityUpdate {
                    id: EntityId(3),
                    dx: 1,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        for (d, bad) in [(twice, 5), (zero, 0), (backwards, 3)] {
            assert_eq!(
                d.write_wire(&mut Vec::new()),
                Err(UnorderedIds(EntityId(bad)))
            );
            assert!(bincode::serde::encode_to_vec(&d, bincode::config::standard()).is_err());
        }
    }

    proptest! {
        #[test]
        fn apply_of_diff_gives_the_current_view((base, cur) in arb_transition()) {
            let mut d = EntityDelta::default();
            diff(&base, &cur, &mut d);
            let mut state = base.clone();
            apply(&mut state, &d, &mut Vec::new()).expect("a diff should apply to its own baseline");
            prop_assert_eq!(state, cur);
        }

        #[test]
        fn write_wire_is_bincode_byte_for_byte((base, cur) in arb_transition()) {
            let mut d = EntityDelta::default();
            diff(&base, &cur, &mut d);
            let mut ours = vec![7u8];
            d.write_wire(&mut ours).expect("a diff's ids ascend");
            let reference = bincode::serde::encode_to_vec(&d, bincode::config::standard())
                .expect("a diff encodes");
            prop_assert_eq!(ours[0], 7, "write_wire appends");
            prop_assert_eq!(&ours[1..], &reference[..]);
        }

        #[test]
        fn diff_against_nothing_spawns_everything(view in arb_view()) {
            let mut d = EntityDelta::default();
            diff(&[], &view, &mut d);
            prop_assert!(d.removed.is_empty() && d.updated.is_empty());
            prop_assert_eq!(d.spawned, view);
        }
    }
}
