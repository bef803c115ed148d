//! The schema descriptor: what a game replicates, described well enough
//! for a client in any language to decode snapshots and messages with no
//! generated code.
//!
//! A game's Rust types describe themselves ([`crate::field`]'s derives);
//! the server encodes the [`Schema`] once per game and sends it right
//! after `Welcome`; a client builds its decoders from it (a Rust client
//! compares [`Schema::hash`] with its own types' instead).
//!
//! Every field is a *slot*: an integer of 8, 16 or 32 bits, or a short
//! string. On the wire a numeric slot is the zigzag varint of its wrapping
//! difference from the baseline's value, within its width (see
//! `docs/PROTOCOL.md`), so an unchanged field costs nothing and a small
//! change a byte.

use serde::{Deserialize, Serialize};

/// Most fields (slots) in one kind, the room state, the input or a message:
/// the change mask is a `u64`.
pub const MAX_FIELDS: usize = 64;
/// Most slots of the game's input, which the server keeps inline per queued
/// input (no allocation per input).
pub const MAX_INPUT_SLOTS: usize = 16;
/// Longest string any field may declare, in UTF-8 bytes.
pub const MAX_STR_LEN: u16 = 1024;

/// How one field is represented on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WireType {
    /// 0 or 1, in 8 bits.
    Bool,
    /// Unsigned 8-bit integer.
    U8,
    /// Unsigned 16-bit integer.
    U16,
    /// Unsigned 32-bit integer.
    U32,
    /// Signed 8-bit integer.
    I8,
    /// Signed 16-bit integer.
    I16,
    /// Signed 32-bit integer.
    I32,
    /// A real number in fixed point: the wire holds `round(v * scale)`,
    /// clamped to `min..=max` quanta, in 16 bits when that range fits an
    /// `i16` and in 32 otherwise.
    Fixed {
        /// Quanta per unit.
        scale: f32,
        /// Smallest value, quanta.
        min: i32,
        /// Largest value, quanta.
        max: i32,
    },
    /// An angle in radians as 1/65,536 of a turn, 16 bits, wrapping.
    Angle,
    /// One of the named variants, by index, in 8 bits (16 beyond 256).
    Enum {
        /// Variant names, in index order.
        variants: Vec<String>,
    },
    /// A UTF-8 string of at most `max_len` bytes.
    Str {
        /// Longest value, bytes.
        max_len: u16,
    },
    /// Another entity of the room, by id (0: none), 32 bits.
    Ref,
}

/// One field of a kind, of the room state, of the input or of a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDesc {
    /// The field's name in the game's code (`pos.x` for a vector's part).
    pub name: String,
    /// Its wire representation.
    pub ty: WireType,
}

/// An entity kind: a flat list of fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KindDesc {
    /// The kind's name in the game's code.
    pub name: String,
    /// Its fields in wire order (hot fields first).
    pub fields: Vec<FieldDesc>,
    /// The index of the field holding the position's x (y is the next
    /// one), both `Fixed`; `None` for a kind without position, which every
    /// client sees.
    pub position: Option<u16>,
}

/// A message type: a name and its fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageDesc {
    /// The message's name in the game's code.
    pub name: String,
    /// Its fields in wire order.
    pub fields: Vec<FieldDesc>,
}

/// Everything a client needs to decode a game's snapshots and messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The game's name.
    pub game: String,
    /// Entity kinds, by kind index.
    pub kinds: Vec<KindDesc>,
    /// The room state's fields.
    pub state: Vec<FieldDesc>,
    /// The input's fields.
    pub input: Vec<FieldDesc>,
    /// Messages a client may send, by type index.
    pub client_messages: Vec<MessageDesc>,
    /// Messages the game sends to clients, by type index.
    pub server_messages: Vec<MessageDesc>,
}

/// Why a schema cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// More than [`MAX_FIELDS`] fields in one place.
    #[error("{0} has more than {MAX_FIELDS} fields")]
    TooManyFields(String),
    /// The input has more than [`MAX_INPUT_SLOTS`] fields, or a string.
    #[error("the input has a string or more than {MAX_INPUT_SLOTS} fields")]
    InputTooBig,
    /// A fixed-point field whose scale or range is not usable.
    #[error("field {0} has an invalid scale or range")]
    BadFixed(String),
    /// A string longer than [`MAX_STR_LEN`], or an enum without variants
    /// or with more than 65,536.
    #[error("field {0} has an invalid length or variant list")]
    BadField(String),
    /// A position index that does not name two `Fixed` fields.
    #[error("kind {0} has an invalid position")]
    BadPosition(String),
    /// More kinds or message types than 65,535.
    #[error("too many kinds or message types")]
    TooMany,
    /// Kinds whose positions have different scales: the area of interest
    /// measures every kind in one unit.
    #[error("every kind's position must have the same scale")]
    PositionScales,
}

impl Schema {
    /// A stable 64-bit hash of the schema's encoding (FNV-1a): equal
    /// schemas hash equal on every platform, so a Rust client can check its
    /// types against the server's `Welcome::schema_hash`.
    pub fn hash(&self) -> u64 {
        let bytes = crate::codec::schema_to_vec(self);
        fnv1a(&bytes)
    }

    /// Checks the schema's bounds and compiles its layouts.
    pub fn compile(&self) -> Result<Layouts, SchemaError> {
        if self.kinds.len() > usize::from(u16::MAX)
            || self.client_messages.len() > usize::from(u16::MAX)
            || self.server_messages.len() > usize::from(u16::MAX)
        {
            return Err(SchemaError::TooMany);
        }
        let kinds = self
            .kinds
            .iter()
            .map(|k| {
                let layout = Layout::new(&k.name, &k.fields)?;
                if let Some(p) = k.position {
                    let p = usize::from(p);
                    let fixed = |i: usize| {
                        matches!(k.fields.get(i).map(|f| &f.ty), Some(WireType::Fixed { .. }))
                    };
                    if !(fixed(p) && fixed(p + 1)) {
                        return Err(SchemaError::BadPosition(k.name.clone()));
                    }
                }
                Ok(KindLayout {
                    layout,
                    position: k.position.map(usize::from),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut scales = self.kinds.iter().filter_map(|k| {
            match k.fields.get(usize::from(k.position?)).map(|f| &f.ty) {
                Some(WireType::Fixed { scale, .. }) => Some(*scale),
                _ => None,
            }
        });
        let position_scale = scales.next().unwrap_or(16.0);
        if scales.any(|s| s != position_scale) {
            return Err(SchemaError::PositionScales);
        }
        let input = Layout::new("input", &self.input)?;
        if input.slots.len() > MAX_INPUT_SLOTS || input.has_strings {
            return Err(SchemaError::InputTooBig);
        }
        let messages = |list: &[MessageDesc]| {
            list.iter()
                .map(|m| Layout::new(&m.name, &m.fields))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Layouts {
            all_positioned: self.kinds.iter().all(|k| k.position.is_some()),
            position_scale,
            kinds,
            state: Layout::new("state", &self.state)?,
            input,
            client_messages: messages(&self.client_messages)?,
            server_messages: messages(&self.server_messages)?,
        })
    }
}

/// FNV-1a, 64 bits.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A schema compiled for encoding and decoding: per place, its slots.
#[derive(Clone, Debug, Default)]
pub struct Layouts {
    /// Whether every kind has a position (then no entity is seen by all).
    pub all_positioned: bool,
    /// Position quanta per world unit, shared by every kind with a position.
    pub position_scale: f32,
    /// By kind index.
    pub kinds: Vec<KindLayout>,
    /// The room state.
    pub state: Layout,
    /// The input.
    pub input: Layout,
    /// Client messages, by type index.
    pub client_messages: Vec<Layout>,
    /// Server messages, by type index.
    pub server_messages: Vec<Layout>,
}

/// A kind's slots and where its position is.
#[derive(Clone, Debug, Default)]
pub struct KindLayout {
    /// Its slots.
    pub layout: Layout,
    /// The slot of the position's x (y follows), if it has one.
    pub position: Option<usize>,
}

/// The slots of one kind, state, input or message, in wire order.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// One per field.
    pub slots: Vec<Slot>,
    /// Whether any slot is a string (rows without one copy as plain words).
    pub has_strings: bool,
    /// Most bytes one change of this layout takes on the wire: the mask
    /// and every slot at its longest.
    pub max_bytes: usize,
}

/// How one field's value is held and checked.
///
/// Numeric values live in a `u32`: signed ones sign-extended from their
/// width, unsigned ones zero-extended, so that a value that passed
/// [`Slot::check`] round-trips exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// 8, 16 or 32 bits; 0 for a string.
    pub bits: u8,
    /// Whether the value is signed (sign-extended in its `u32`).
    pub signed: bool,
    /// Smallest valid value (as the signed or unsigned value it stands for).
    pub min: i64,
    /// Largest valid value; for a string, its longest length in bytes.
    pub max: i64,
    /// `32 - bits`: how far a value is shifted to sign-extend it from its
    /// width (kept, not computed, on the hot path).
    pub shift: u8,
}

impl Slot {
    fn new(name: &str, ty: &WireType) -> Result<Slot, SchemaError> {
        let int = |bits: u8, signed: bool| {
            let (min, max) = if signed {
                (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
            } else {
                (0, (1i64 << bits) - 1)
            };
            Slot {
                bits,
                signed,
                min,
                max,
                shift: 32 - bits,
            }
        };
        Ok(match ty {
            WireType::Bool => Slot {
                max: 1,
                ..int(8, false)
            },
            WireType::U8 => int(8, false),
            WireType::U16 => int(16, false),
            WireType::U32 => int(32, false),
            WireType::I8 => int(8, true),
            WireType::I16 => int(16, true),
            WireType::I32 => int(32, true),
            WireType::Fixed { scale, min, max } => {
                if !(scale.is_finite() && *scale > 0.0 && min <= max) {
                    return Err(SchemaError::BadFixed(name.to_owned()));
                }
                let narrow = i16::try_from(*min).is_ok() && i16::try_from(*max).is_ok();
                Slot {
                    min: i64::from(*min),
                    max: i64::from(*max),
                    ..int(if narrow { 16 } else { 32 }, true)
                }
            }
            WireType::Angle => int(16, false),
            WireType::Enum { variants } => {
                let n = variants.len();
                if n == 0 || n > 65_536 {
                    return Err(SchemaError::BadField(name.to_owned()));
                }
                Slot {
                    max: n as i64 - 1,
                    ..int(if n <= 256 { 8 } else { 16 }, false)
                }
            }
            WireType::Str { max_len } => {
                if *max_len > MAX_STR_LEN {
                    return Err(SchemaError::BadField(name.to_owned()));
                }
                Slot {
                    bits: 0,
                    signed: false,
                    min: 0,
                    max: i64::from(*max_len),
                    shift: 0,
                }
            }
            WireType::Ref => int(32, false),
        })
    }

    /// Whether this slot holds a string.
    #[inline]
    pub fn is_str(&self) -> bool {
        self.bits == 0
    }

    /// The value a `u32` slot stands for.
    #[inline]
    pub fn value(&self, raw: u32) -> i64 {
        if self.signed {
            i64::from(raw as i32)
        } else {
            i64::from(raw)
        }
    }

    /// Whether `raw` is a valid value of this slot (in range, and extended
    /// from its width as the slot holds values).
    #[inline]
    pub fn check(&self, raw: u32) -> bool {
        self.normalise(raw) == raw && (self.min..=self.max).contains(&self.value(raw))
    }

    /// `raw` cut to the slot's width and extended back.
    #[inline]
    pub fn normalise(&self, raw: u32) -> u32 {
        match (self.bits, self.signed) {
            (8, false) => raw & 0xff,
            (16, false) => raw & 0xffff,
            (8, true) => raw as i8 as i32 as u32,
            (16, true) => raw as i16 as i32 as u32,
            _ => raw,
        }
    }

    /// The wire form of the change from `old` to `new`: their wrapping
    /// difference within the width, sign-extended and zigzagged.
    #[inline(always)]
    pub fn zigzag_delta(&self, old: u32, new: u32) -> u32 {
        // Sign-extend the difference from the slot's width, branch-free.
        let shift = u32::from(self.shift);
        let d = ((new.wrapping_sub(old) << shift) as i32) >> shift;
        ((d << 1) ^ (d >> 31)) as u32
    }

    /// The inverse of [`Slot::zigzag_delta`]: `old` changed by the wire
    /// value `z`; `None` when `z` does not fit the width (not canonical).
    #[inline]
    pub fn apply_zigzag(&self, old: u32, z: u32) -> Option<u32> {
        if self.bits < 32 && z >> self.bits != 0 {
            return None;
        }
        let d = ((z >> 1) as i32) ^ -((z & 1) as i32);
        Some(self.normalise(old.wrapping_add(d as u32)))
    }
}

impl Layout {
    /// Compiles a list of fields.
    pub fn new(name: &str, fields: &[FieldDesc]) -> Result<Layout, SchemaError> {
        if fields.len() > MAX_FIELDS {
            return Err(SchemaError::TooManyFields(name.to_owned()));
        }
        let slots = fields
            .iter()
            .map(|f| Slot::new(&f.name, &f.ty))
            .collect::<Result<Vec<_>, _>>()?;
        let max_bytes = 9 + slots
            .iter()
            .map(|s| if s.is_str() { 9 + s.max as usize } else { 5 })
            .sum::<usize>();
        Ok(Layout {
            has_strings: slots.iter().any(Slot::is_str),
            max_bytes,
            slots,
        })
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no slots.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The mask with one bit per slot.
    pub fn full_mask(&self) -> u64 {
        if self.slots.len() == 64 {
            u64::MAX
        } else {
            (1u64 << self.slots.len()) - 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(ty: WireType) -> Slot {
        Slot::new("f", &ty).expect("a valid field")
    }

    #[test]
    fn deltas_wrap_within_the_width_and_round_trip() {
        for (ty, values) in [
            (
                WireType::I16,
                vec![i16::MIN as i32 as u32, i16::MAX as u32, 0, 5],
            ),
            (WireType::U8, vec![0, 255, 7]),
            (WireType::Angle, vec![0, 65_535, 3]),
            (WireType::I32, vec![i32::MIN as u32, i32::MAX as u32, 0]),
            (WireType::U32, vec![0, u32::MAX, 77]),
        ] {
            let s = slot(ty);
            for &a in &values {
                for &b in &values {
                    let z = s.zigzag_delta(a, b);
                    assert_eq!(s.apply_zigzag(a, z), Some(b), "{s:?} {a} -> {b}");
                }
            }
        }
    }

    #[test]
    fn a_delta_wider_than_the_field_is_refused() {
        assert_eq!(slot(WireType::U8).apply_zigzag(0, 256), None);
        assert_eq!(slot(WireType::I16).apply_zigzag(0, 65_536), None);
    }

    #[test]
    fn fixed_fields_are_narrow_when_their_range_fits_16_bits() {
        let narrow = slot(WireType::Fixed {
            scale: 8.0,
            min: -32_768,
            max: 32_767,
        });
        assert_eq!(narrow.bits, 16);
        let wide = slot(WireType::Fixed {
            scale: 16.0,
            min: 0,
            max: 1 << 24,
        });
        assert_eq!(wide.bits, 32);
        assert!(!wide.check(-1i32 as u32));
        assert!(wide.check(1 << 24));
        assert!(!wide.check((1 << 24) + 1));
    }

    #[test]
    fn bools_and_enums_check_their_range() {
        assert!(slot(WireType::Bool).check(1));
        assert!(!slot(WireType::Bool).check(2));
        let e = slot(WireType::Enum {
            variants: vec!["a".into(), "b".into(), "c".into()],
        });
        assert!(e.check(2));
        assert!(!e.check(3));
    }
}
