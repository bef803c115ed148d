//! How a game's Rust types become slots, and back.
//!
//! A game declares its entity kinds, room state, input and messages as
//! plain Rust types with the derives of `snapwire-derive`
//! (`#[derive(Replicate)]`, `#[derive(Entities)]`, `#[derive(Messages)]`,
//! `#[derive(NetEnum)]`), which implement the traits here; nobody writes
//! them by hand. Each field's type says how it is held through
//! [`NetField`]; `#[snap(...)]` attributes give what the type alone does
//! not (a fixed-point scale and range, a string's longest length, which
//! field is the position).
//!
//! ```ignore
//! #[derive(Replicate, Clone, Default)]
//! struct Ship {
//!     #[snap(position, scale = 16, min = 0, max = 65536)]
//!     pos: Vec2,
//!     #[snap(angle)]
//!     heading: f32,
//!     health: u8,
//!     team: Team, // #[derive(NetEnum)]
//! }
//! ```

use crate::ids::{EntityId, PlayerId};
use crate::schema::{FieldDesc, KindDesc, MessageDesc, WireType};
pub use glam;
use glam::Vec2;
use std::sync::Arc;

/// What a `#[snap(...)]` attribute says about one field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldAttrs {
    /// Fixed point: quanta per unit (`scale = 16`).
    pub scale: f32,
    /// Fixed point: smallest value, in units.
    pub min: f32,
    /// Fixed point: largest value, in units.
    pub max: f32,
    /// Strings: longest value in bytes (longer ones are cut).
    pub max_len: u16,
    /// `f32` only: an angle in radians, 16 bits per turn, wrapping.
    pub angle: bool,
}

impl FieldAttrs {
    /// No attribute: integers, bools, enums and refs need none; strings
    /// default to 32 bytes; `f32` needs a scale or `angle`.
    pub const DEFAULT: FieldAttrs = FieldAttrs {
        scale: 0.0,
        min: 0.0,
        max: 0.0,
        max_len: 32,
        angle: false,
    };

    /// The quantised range of a fixed-point field.
    #[inline(always)]
    fn quanta(&self) -> (i32, i32) {
        let q =
            |v: f32| round_to_i64(v * self.scale).clamp(i32::MIN.into(), i32::MAX.into()) as i32;
        (q(self.min), q(self.max))
    }
}

/// Rounds half away from zero, saturating (NaN gives 0).
///
/// `f32::round` is a libm call on baseline x86-64 (no SSE4.1), which made it
/// a fifth of the room's quantisation time; this is two instructions.
#[inline]
pub fn round_to_i64(x: f32) -> i64 {
    if x.abs() >= 8_388_608.0 {
        x as i64
    } else {
        (x + 0.5_f32.copysign(x)) as i64
    }
}

/// Quantises `v` to fixed point at `scale`, clamped to `min..=max` quanta.
#[inline]
pub fn quantise(v: f32, scale: f32, min: i32, max: i32) -> i32 {
    round_to_i64(v * scale).clamp(i64::from(min), i64::from(max)) as i32
}

/// Yaw quanta per full turn.
pub const ANGLE_STEPS: f32 = 65_536.0;

/// Quantises an angle in radians to 1/65,536 of a turn, wrapping.
#[inline]
pub fn quantise_angle(a: f32) -> u16 {
    // Modulo 65,536 by two's-complement wrap-around: no fmod.
    (round_to_i64(a * (ANGLE_STEPS / std::f32::consts::TAU)) & 0xffff) as u16
}

/// The angle in radians, in `[0, 2π)`, of a quantised one.
#[inline]
pub fn dequantise_angle(q: u16) -> f32 {
    f32::from(q) / ANGLE_STEPS * std::f32::consts::TAU
}

/// Where a value's slots are written: numbers as words, strings by index
/// into a side list.
#[derive(Debug)]
pub struct SlotWriter<'a> {
    values: &'a mut Vec<u32>,
    strings: &'a mut Vec<Arc<str>>,
}

impl<'a> SlotWriter<'a> {
    /// Writes after what `values` and `strings` hold.
    pub fn new(values: &'a mut Vec<u32>, strings: &'a mut Vec<Arc<str>>) -> Self {
        SlotWriter { values, strings }
    }

    /// A numeric slot (see [`crate::schema::Slot`] for how it is held).
    #[inline(always)]
    pub fn num(&mut self, v: u32) {
        self.values.push(v);
    }

    /// A string slot.
    #[inline]
    pub fn str(&mut self, s: Arc<str>) {
        self.values.push(self.strings.len() as u32);
        self.strings.push(s);
    }
}

/// Reads slots written by [`SlotWriter`] (or decoded and checked against
/// the schema). Missing slots read as zero and empty: a schema mismatch
/// gives wrong values, never a panic.
#[derive(Debug)]
pub struct SlotReader<'a> {
    values: &'a [u32],
    strings: &'a [Arc<str>],
    pos: usize,
}

impl<'a> SlotReader<'a> {
    /// Reads `values` from the start; string slots index `strings`.
    pub fn new(values: &'a [u32], strings: &'a [Arc<str>]) -> Self {
        SlotReader {
            values,
            strings,
            pos: 0,
        }
    }

    /// The next numeric slot.
    #[inline]
    pub fn num(&mut self) -> u32 {
        let v = self.values.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        v
    }

    /// The next string slot.
    #[inline]
    pub fn str(&mut self) -> Arc<str> {
        let i = self.num() as usize;
        self.strings
            .get(i)
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }
}

/// A Rust type a field may have.
pub trait NetField: Sized {
    /// How many slots it takes.
    const SLOTS: usize;
    /// Appends the descriptors of a field named `name`.
    fn describe(name: &str, attrs: &FieldAttrs, out: &mut Vec<FieldDesc>);
    /// Writes the value's slots.
    fn write(&self, attrs: &FieldAttrs, w: &mut SlotWriter<'_>);
    /// Reads a value back.
    fn read(attrs: &FieldAttrs, r: &mut SlotReader<'_>) -> Self;
}

fn field(out: &mut Vec<FieldDesc>, name: &str, ty: WireType) {
    out.push(FieldDesc {
        name: name.to_owned(),
        ty,
    });
}

macro_rules! int_field {
    ($t:ty, $wire:ident, $signed:expr) => {
        impl NetField for $t {
            const SLOTS: usize = 1;
            fn describe(name: &str, _: &FieldAttrs, out: &mut Vec<FieldDesc>) {
                field(out, name, WireType::$wire);
            }
            #[inline]
            fn write(&self, _: &FieldAttrs, w: &mut SlotWriter<'_>) {
                // Signed values sign-extended, unsigned zero-extended.
                w.num(if $signed {
                    *self as i64 as i32 as u32
                } else {
                    *self as u32
                });
            }
            #[inline]
            fn read(_: &FieldAttrs, r: &mut SlotReader<'_>) -> Self {
                r.num() as $t
            }
        }
    };
}

int_field!(u8, U8, false);
int_field!(u16, U16, false);
int_field!(u32, U32, false);
int_field!(i8, I8, true);
int_field!(i16, I16, true);
int_field!(i32, I32, true);

impl NetField for bool {
    const SLOTS: usize = 1;
    fn describe(name: &str, _: &FieldAttrs, out: &mut Vec<FieldDesc>) {
        field(out, name, WireType::Bool);
    }
    #[inline]
    fn write(&self, _: &FieldAttrs, w: &mut SlotWriter<'_>) {
        w.num(u32::from(*self));
    }
    #[inline]
    fn read(_: &FieldAttrs, r: &mut SlotReader<'_>) -> Self {
        r.num() != 0
    }
}

/// A real number: fixed point (`scale`, `min`, `max`) or an `angle`.
impl NetField for f32 {
    const SLOTS: usize = 1;
    fn describe(name: &str, a: &FieldAttrs, out: &mut Vec<FieldDesc>) {
        let ty = if a.angle {
            WireType::Angle
        } else {
            let (min, max) = a.quanta();
            WireType::Fixed {
                scale: a.scale,
                min,
                max,
            }
        };
        field(out, name, ty);
    }
    #[inline(always)]
    fn write(&self, a: &FieldAttrs, w: &mut SlotWriter<'_>) {
        if a.angle {
            w.num(u32::from(quantise_angle(*self)));
        } else {
            let (min, max) = a.quanta();
            w.num(quantise(*self, a.scale, min, max) as u32);
        }
    }
    #[inline]
    fn read(a: &FieldAttrs, r: &mut SlotReader<'_>) -> Self {
        let q = r.num();
        if a.angle {
            dequantise_angle(q as u16)
        } else {
            q as i32 as f32 / a.scale
        }
    }
}

/// Two fixed-point fields, `name.x` and `name.y`, with the same scale and
/// range.
impl NetField for Vec2 {
    const SLOTS: usize = 2;
    fn describe(name: &str, a: &FieldAttrs, out: &mut Vec<FieldDesc>) {
        f32::describe(&format!("{name}.x"), a, out);
        f32::describe(&format!("{name}.y"), a, out);
    }
    #[inline(always)]
    fn write(&self, a: &FieldAttrs, w: &mut SlotWriter<'_>) {
        self.x.write(a, w);
        self.y.write(a, w);
    }
    #[inline]
    fn read(a: &FieldAttrs, r: &mut SlotReader<'_>) -> Self {
        let x = f32::read(a, r);
        Vec2::new(x, f32::read(a, r))
    }
}

/// Cuts `s` to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A short string, shared rather than copied each tick (`max_len`).
impl NetField for Arc<str> {
    const SLOTS: usize = 1;
    fn describe(name: &str, a: &FieldAttrs, out: &mut Vec<FieldDesc>) {
        field(out, name, WireType::Str { max_len: a.max_len });
    }
    #[inline]
    fn write(&self, a: &FieldAttrs, w: &mut SlotWriter<'_>) {
        if self.len() <= usize::from(a.max_len) {
            w.str(self.clone());
        } else {
            w.str(Arc::from(cut(self, a.max_len.into())));
        }
    }
    #[inline]
    fn read(_: &FieldAttrs, r: &mut SlotReader<'_>) -> Self {
        r.str()
    }
}

/// A short string; copied into the frame each tick, so entity kinds
/// should prefer `Arc<str>` (messages and inputs are written once).
impl NetField for String {
    const SLOTS: usize = 1;
    fn describe(name: &str, a: &FieldAttrs, out: &mut Vec<FieldDesc>) {
        <Arc<str>>::describe(name, a, out);
    }
    fn write(&self, a: &FieldAttrs, w: &mut SlotWriter<'_>) {
        w.str(Arc::from(cut(self, a.max_len.into())));
    }
    fn read(_: &FieldAttrs, r: &mut SlotReader<'_>) -> Self {
        r.str().to_string()
    }
}

/// A reference to another entity (0 on the wire: none).
impl NetField for Option<EntityId> {
    const SLOTS: usize = 1;
    fn describe(name: &str, _: &FieldAttrs, out: &mut Vec<FieldDesc>) {
        field(out, name, WireType::Ref);
    }
    #[inline]
    fn write(&self, _: &FieldAttrs, w: &mut SlotWriter<'_>) {
        w.num(self.map_or(0, |e| e.0));
    }
    #[inline]
    fn read(_: &FieldAttrs, r: &mut SlotReader<'_>) -> Self {
        Some(EntityId(r.num())).filter(|e| e.0 != 0)
    }
}

/// A reference to another entity that is always set.
impl NetField for EntityId {
    const SLOTS: usize = 1;
    fn describe(name: &str, _: &FieldAttrs, out: &mut Vec<FieldDesc>) {
        field(out, name, WireType::Ref);
    }
    #[inline]
    fn write(&self, _: &FieldAttrs, w: &mut SlotWriter<'_>) {
        w.num(self.0);
    }
    #[inline]
    fn read(_: &FieldAttrs, r: &mut SlotReader<'_>) -> Self {
        EntityId(r.num())
    }
}

/// A player, by id (a `u32`).
impl NetField for PlayerId {
    const SLOTS: usize = 1;
    fn describe(name: &str, _: &FieldAttrs, out: &mut Vec<FieldDesc>) {
        field(out, name, WireType::U32);
    }
    #[inline]
    fn write(&self, _: &FieldAttrs, w: &mut SlotWriter<'_>) {
        w.num(self.0);
    }
    #[inline]
    fn read(_: &FieldAttrs, r: &mut SlotReader<'_>) -> Self {
        PlayerId(r.num())
    }
}

/// A C-like enum replicated by variant index (`#[derive(NetEnum)]`, which
/// also implements [`NetField`] for it).
pub trait NetEnum: Sized + Copy {
    /// Variant names, in index order.
    const VARIANTS: &'static [&'static str];
    /// This variant's index.
    fn index(self) -> u16;
    /// The variant of an index; the first for an unknown one (decoded
    /// values are checked against the variant count first).
    fn from_index(i: u16) -> Self;

    /// The enum's wire type.
    fn wire_type() -> WireType {
        WireType::Enum {
            variants: Self::VARIANTS.iter().map(|v| (*v).to_owned()).collect(),
        }
    }
}

/// A flat struct of fields: an entity kind, the room state or the input
/// (`#[derive(Replicate)]`).
pub trait Replicate: Sized {
    /// The type's name, as the descriptor shows it.
    const NAME: &'static str;
    /// The slot of the position's x (y follows), if a field is marked
    /// `#[snap(position)]`.
    const POSITION: Option<u16>;
    /// The fields, in slot order.
    fn fields() -> Vec<FieldDesc>;
    /// Writes every field's slots.
    fn write(&self, w: &mut SlotWriter<'_>);
    /// Reads a value back from its slots.
    fn read(r: &mut SlotReader<'_>) -> Self;

    /// The kind descriptor of this type.
    fn kind_desc() -> KindDesc {
        KindDesc {
            name: Self::NAME.to_owned(),
            fields: Self::fields(),
            position: Self::POSITION,
        }
    }
}

/// Every entity kind of a game, as one type: a `Replicate` struct (one
/// kind) or an enum of them (`#[derive(Entities)]`, one kind per variant).
pub trait EntitySet: Sized {
    /// The kinds, by kind index.
    fn kinds() -> Vec<KindDesc>;
    /// This value's kind index.
    fn kind_index(&self) -> u16;
    /// Writes the value's slots (of its kind).
    fn write_kind(&self, w: &mut SlotWriter<'_>);
    /// Reads a value of `kind` back; `None` for an unknown kind.
    fn read_kind(kind: u16, r: &mut SlotReader<'_>) -> Option<Self>;
}

/// A game's message types, as one enum (`#[derive(Messages)]`): each
/// variant is a message type, its fields the message's.
pub trait MessageSet: Sized {
    /// The message types, by type index.
    fn types() -> Vec<MessageDesc>;
    /// Writes the value's slots; returns its type index.
    fn write(&self, w: &mut SlotWriter<'_>) -> u16;
    /// Reads a value of type `ty` back; `None` for an unknown type.
    fn read(ty: u16, r: &mut SlotReader<'_>) -> Option<Self>;
}

/// No messages at all: for a game that has none in one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoMessages {}

impl MessageSet for NoMessages {
    fn types() -> Vec<MessageDesc> {
        Vec::new()
    }
    fn write(&self, _: &mut SlotWriter<'_>) -> u16 {
        match *self {}
    }
    fn read(_: u16, _: &mut SlotReader<'_>) -> Option<Self> {
        None
    }
}

/// No room state: for a game that keeps none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoState;

impl Replicate for NoState {
    const NAME: &'static str = "NoState";
    const POSITION: Option<u16> = None;
    fn fields() -> Vec<FieldDesc> {
        Vec::new()
    }
    fn write(&self, _: &mut SlotWriter<'_>) {}
    fn read(_: &mut SlotReader<'_>) -> Self {
        NoState
    }
}
