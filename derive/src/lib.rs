//! Derives for snapwire game types.
//!
//! A game declares what it replicates as plain Rust types and derives the
//! traits of `snapwire_shared::field` for them:
//!
//! - [`Replicate`](derive@Replicate) for a struct of fields: an entity kind,
//!   the room state or the input (it is also a one-kind entity set);
//! - [`Entities`](derive@Entities) for an enum of `Replicate` kinds;
//! - [`Messages`](derive@Messages) for an enum of message types;
//! - [`NetEnum`](derive@NetEnum) for a C-like enum used as a field.
//!
//! Each field's Rust type says how it is held (`NetField`); what the type
//! alone does not say is given by `#[snap(...)]` on the field: `position`,
//! `scale = ..`, `min = ..`, `max = ..`, `angle`, `max_len = ..` and `skip`.
//! The generated code names everything by absolute path
//! (`::snapwire_shared::...`), so the using crate needs `snapwire_shared` as a
//! dependency under that name, and nothing in scope.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DataEnum, DeriveInput, Error, Expr, Fields, Ident, Result, Type};

/// Implements `Replicate` (and `EntitySet`, as a single kind) for a struct
/// with named fields, whose fields are replicated in declaration order, each
/// as its type's `NetField` says; `#[snap(...)]` on a field adds, separated
/// by commas: `position` to mark the kind's position (a `Vec2`; at most one
/// per struct; `POSITION` becomes its first slot), `scale = N`, `min = N` and
/// `max = N` for fixed-point numbers (quanta per unit and range in units, any
/// numeric constant expression, e.g. `scale = 16, min = -100, max = 1e6`),
/// `angle` for an `f32` angle in radians, `max_len = N` for a string's
/// longest length in bytes (32 by default), and `skip` for a field that is
/// not replicated at all (it reads back as `Default::default()`).
#[proc_macro_derive(Replicate, attributes(snap))]
pub fn derive_replicate(input: TokenStream) -> TokenStream {
    expand(input, replicate)
}

/// Implements `EntitySet` for an enum with one entity kind per variant, each
/// variant a single-field tuple variant `Kind(T)` with `T: Replicate`; the
/// kind index of a value is its variant's position in the declaration. It
/// also implements `From<T>` for the enum for every variant, so each variant
/// must hold a distinct type. No `#[snap]` attributes are taken: they belong
/// on the fields of the kinds' own structs.
#[proc_macro_derive(Entities, attributes(snap))]
pub fn derive_entities(input: TokenStream) -> TokenStream {
    expand(input, entities)
}

/// Implements `MessageSet` for an enum with one message type per variant,
/// indexed by declaration order; a variant is a unit variant (a message with
/// no fields) or has named fields, which take the same `#[snap(...)]` items
/// as a `Replicate` struct's (`scale`, `min`, `max`, `angle`, `max_len`,
/// `skip`) except `position`, which means nothing for a message.
#[proc_macro_derive(Messages, attributes(snap))]
pub fn derive_messages(input: TokenStream) -> TokenStream {
    expand(input, messages)
}

/// Implements `NetEnum` and `NetField` for a C-like enum (unit variants
/// only, at least one), which then may be a field of any derived type: it is
/// sent as its variant's index in declaration order (explicit discriminants
/// are ignored), and an unknown index reads as the first variant. The enum
/// must also be `Copy` (derive it yourself); no attributes are taken.
#[proc_macro_derive(NetEnum, attributes(snap))]
pub fn derive_net_enum(input: TokenStream) -> TokenStream {
    expand(input, net_enum)
}

fn expand(input: TokenStream, derive: fn(&DeriveInput) -> Result<Tokens>) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    derive(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// `::snapwire_shared::field`, where the traits live.
fn field_mod() -> Tokens {
    quote!(::snapwire_shared::field)
}

/// One field of a struct or of a message variant.
struct Field<'a> {
    ident: &'a Ident,
    ty: &'a Type,
    /// The const holding its `FieldAttrs`, and its value; `None` if skipped.
    attrs: Option<(Ident, Tokens)>,
    position: bool,
}

/// Reads the named fields of struct or variant `v` and their `#[snap]` items.
fn named_fields(fields: &Fields, v: usize, allow_position: bool) -> Result<Vec<Field<'_>>> {
    let fields = fields.iter().enumerate().map(|(i, f)| {
        let ident = f.ident.as_ref().expect("named fields have names");
        let konst = format_ident!("__SNAP_ATTRS_{v}_{i}");
        parse_field(ident, &f.ty, &f.attrs, konst, allow_position)
    });
    fields.collect()
}

fn parse_field<'a>(
    ident: &'a Ident,
    ty: &'a Type,
    attrs: &[Attribute],
    konst: Ident,
    allow_position: bool,
) -> Result<Field<'a>> {
    let (mut position, mut skip) = (false, false);
    let mut seen: Vec<String> = Vec::new();
    let mut sets: Vec<Tokens> = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("snap")) {
        attr.parse_nested_meta(|meta| {
            let path = &meta.path;
            let key = quote!(#path).to_string();
            if seen.contains(&key) {
                return Err(meta.error(format!("`{key}` given twice")));
            }
            let flag = matches!(key.as_str(), "position" | "skip" | "angle");
            if flag && meta.input.peek(syn::Token![=]) {
                return Err(meta.error(format!("`{key}` takes no value")));
            }
            match key.as_str() {
                "position" if allow_position => position = true,
                "position" => {
                    return Err(meta.error("`position` is only for `#[derive(Replicate)]` fields"));
                }
                "skip" => skip = true,
                "angle" => sets.push(quote!(angle: true)),
                "scale" | "min" | "max" => {
                    let value: Expr = meta.value()?.parse()?;
                    let field = format_ident!("{key}");
                    sets.push(quote!(#field: (#value) as f32));
                }
                "max_len" => {
                    let value: Expr = meta.value()?.parse()?;
                    sets.push(quote!(max_len: (#value) as u16));
                }
                _ => {
                    return Err(meta.error(format!(
                        "unknown `snap` item `{key}`; expected `position`, `scale = ..`, \
                         `min = ..`, `max = ..`, `angle`, `max_len = ..` or `skip`"
                    )));
                }
            }
            seen.push(key);
            Ok(())
        })?;
    }
    if skip && (position || !sets.is_empty()) {
        let msg = "a `skip` field takes no other `snap` items";
        return Err(Error::new_spanned(ident, msg));
    }
    let m = field_mod();
    let attrs = (!skip).then(|| match sets.len() {
        0 => quote!(#m::FieldAttrs::DEFAULT),
        // Every field given: no update (clippy's `needless_update`).
        5 => quote!(#m::FieldAttrs { #(#sets),* }),
        _ => quote!(#m::FieldAttrs { #(#sets,)* ..#m::FieldAttrs::DEFAULT }),
    });
    let attrs = attrs.map(|value| (konst, value));
    Ok(Field {
        ident,
        ty,
        attrs,
        position,
    })
}

/// The replicated fields, with the consts of their attributes.
fn live<'f, 'a>(fields: &'f [Field<'a>]) -> impl Iterator<Item = (&'f Field<'a>, &'f Ident)> {
    fields
        .iter()
        .filter_map(|f| Some((f, &f.attrs.as_ref()?.0)))
}

/// The consts of the fields' attributes, and a compile-time check that the
/// fields fit the schema's field limit (`what` names them).
fn attrs_consts(fields: &[Field], what: &str) -> Tokens {
    let m = field_mod();
    let consts = fields.iter().filter_map(|f| f.attrs.as_ref());
    let consts = consts.map(|(name, value)| quote!(const #name: #m::FieldAttrs = #value;));
    let mut out = quote!(#(#consts)*);
    if live(fields).next().is_some() {
        let sum = slot_sum(fields);
        let msg = format!("{what} has more slots than `snapwire_shared::schema::MAX_FIELDS`");
        let max = quote!(::snapwire_shared::schema::MAX_FIELDS);
        out.extend(quote!(
            const _: () = ::core::assert!(#sum <= #max, #msg);
        ));
    }
    out
}

/// The slots of the replicated `fields`, as a `usize` const expression.
fn slot_sum(fields: &[Field]) -> Tokens {
    let m = field_mod();
    let tys: Vec<_> = live(fields).map(|(f, _)| f.ty).collect();
    if tys.is_empty() {
        return quote!(0);
    }
    quote!(#(<#tys as #m::NetField>::SLOTS)+*)
}

/// An expression of the `Vec<FieldDesc>` describing `fields`.
fn describe(fields: &[Field]) -> Tokens {
    if live(fields).next().is_none() {
        return quote!(::std::vec::Vec::new());
    }
    let m = field_mod();
    let calls = live(fields).map(|(f, attrs)| {
        let (ty, name) = (f.ty, f.ident.unraw().to_string());
        quote!(<#ty as #m::NetField>::describe(#name, &#attrs, &mut out);)
    });
    let sum = slot_sum(fields);
    quote!({
        let mut out = ::std::vec::Vec::with_capacity(#sum);
        #(#calls)*
        out
    })
}

/// The field initialisers reading `fields` back from `r`.
fn read_fields(fields: &[Field]) -> Tokens {
    let m = field_mod();
    let inits = fields.iter().map(|f| {
        let (ident, ty) = (f.ident, f.ty);
        match &f.attrs {
            Some((attrs, _)) => quote!(#ident: <#ty as #m::NetField>::read(&#attrs, r)),
            None => quote!(#ident: ::core::default::Default::default()),
        }
    });
    quote!(#(#inits,)*)
}

/// `name` if it is used, `_name` otherwise (no unused-variable warnings).
fn param(name: &str, used: bool) -> Ident {
    if used {
        format_ident!("{name}")
    } else {
        format_ident!("_{name}")
    }
}

fn no_generics(input: &DeriveInput) -> Result<()> {
    let g = &input.generics;
    if g.params.is_empty() && g.where_clause.is_none() {
        Ok(())
    } else {
        Err(Error::new_spanned(
            g,
            "snapwire derives do not support generic types",
        ))
    }
}

/// Refuses `#[snap]` where it means nothing.
fn no_snap(attrs: &[Attribute], what: &str) -> Result<()> {
    match attrs.iter().find(|a| a.path().is_ident("snap")) {
        Some(a) => Err(Error::new_spanned(
            a,
            format!("`#[snap]` is not taken on {what}"),
        )),
        None => Ok(()),
    }
}

/// The enum of a derive that needs one, with at least one variant and
/// indices that fit a `u16`.
fn variants<'a>(input: &'a DeriveInput, derive: &str) -> Result<&'a DataEnum> {
    no_generics(input)?;
    no_snap(&input.attrs, "the type")?;
    let Data::Enum(data) = &input.data else {
        return Err(Error::new_spanned(
            &input.ident,
            format!("`#[derive({derive})]` is for enums"),
        ));
    };
    if data.variants.is_empty() || data.variants.len() > 1 << 16 {
        let hint = if derive == "Messages" {
            " (see `NoMessages`)"
        } else {
            ""
        };
        let msg = format!("`#[derive({derive})]` needs 1 to 65,536 variants{hint}");
        return Err(Error::new_spanned(&input.ident, msg));
    }
    for v in &data.variants {
        no_snap(&v.attrs, "variants")?;
    }
    Ok(data)
}

fn replicate(input: &DeriveInput) -> Result<Tokens> {
    no_generics(input)?;
    no_snap(&input.attrs, "the type")?;
    let name = &input.ident;
    let data = match &input.data {
        Data::Struct(s) if matches!(s.fields, Fields::Named(_)) => s,
        _ => {
            let msg = "`#[derive(Replicate)]` is for structs with named fields";
            return Err(Error::new_spanned(name, msg));
        }
    };
    let fields = named_fields(&data.fields, 0, true)?;
    let m = field_mod();
    let mut positions = fields.iter().enumerate().filter(|(_, f)| f.position);
    let position = match (positions.next(), positions.next()) {
        (None, _) => quote!(::core::option::Option::None),
        (Some((i, f)), None) => {
            let ty = f.ty;
            let check = quote_spanned! {ty.span()=>
                const _: () = ::core::assert!(
                    <#ty as #m::NetField>::SLOTS == 2,
                    "a `#[snap(position)]` field must be a `Vec2`"
                );
            };
            let before = slot_sum(&fields[..i]);
            let slot = if i == 0 {
                quote!(0)
            } else {
                quote!((#before) as u16)
            };
            quote!({ #check ::core::option::Option::Some(#slot) })
        }
        (Some(_), Some((_, f))) => {
            return Err(Error::new_spanned(
                f.ident,
                "only one field may be the `position`",
            ));
        }
    };
    let any = live(&fields).next().is_some();
    let (w, r) = (param("w", any), param("r", any));
    let writes = live(&fields).map(|(f, attrs)| {
        let (ident, ty) = (f.ident, f.ty);
        quote!(<#ty as #m::NetField>::write(&self.#ident, &#attrs, w);)
    });
    let consts = attrs_consts(&fields, &format!("`{name}`"));
    let (desc, reads) = (describe(&fields), read_fields(&fields));
    let name_str = name.unraw().to_string();
    Ok(quote! {
        const _: () = {
            #consts

            #[automatically_derived]
            impl #m::Replicate for #name {
                const NAME: &'static str = #name_str;
                const POSITION: ::core::option::Option<u16> = #position;

                fn fields() -> ::std::vec::Vec<::snapwire_shared::schema::FieldDesc> {
                    #desc
                }

                #[inline]
                fn write(&self, #w: &mut #m::SlotWriter<'_>) {
                    #(#writes)*
                }

                #[inline]
                fn read(#r: &mut #m::SlotReader<'_>) -> Self {
                    Self { #reads }
                }
            }

            #[automatically_derived]
            impl #m::EntitySet for #name {
                fn kinds() -> ::std::vec::Vec<::snapwire_shared::schema::KindDesc> {
                    ::std::vec![<Self as #m::Replicate>::kind_desc()]
                }

                #[inline]
                fn kind_index(&self) -> u16 {
                    0
                }

                #[inline]
                fn write_kind(&self, w: &mut #m::SlotWriter<'_>) {
                    <Self as #m::Replicate>::write(self, w);
                }

                #[inline]
                fn read_kind(kind: u16, r: &mut #m::SlotReader<'_>) -> ::core::option::Option<Self> {
                    (kind == 0).then(|| <Self as #m::Replicate>::read(r))
                }
            }
        };
    })
}

fn entities(input: &DeriveInput) -> Result<Tokens> {
    let data = variants(input, "Entities")?;
    let name = &input.ident;
    let (mut idents, mut tys) = (Vec::new(), Vec::new());
    for v in &data.variants {
        let field = match &v.fields {
            Fields::Unnamed(f) if f.unnamed.len() == 1 => &f.unnamed[0],
            _ => {
                let msg = "each `Entities` variant holds one `Replicate` kind: `Variant(Kind)`";
                return Err(Error::new_spanned(v, msg));
            }
        };
        no_snap(&field.attrs, "entity variants")?;
        idents.push(&v.ident);
        tys.push(&field.ty);
    }
    let indices: Vec<u16> = (0..=u16::MAX).take(idents.len()).collect();
    let m = field_mod();
    Ok(quote! {
        #[automatically_derived]
        impl #m::EntitySet for #name {
            fn kinds() -> ::std::vec::Vec<::snapwire_shared::schema::KindDesc> {
                ::std::vec![#(<#tys as #m::Replicate>::kind_desc()),*]
            }

            #[inline]
            fn kind_index(&self) -> u16 {
                match *self {
                    #(Self::#idents(_) => #indices,)*
                }
            }

            #[inline]
            fn write_kind(&self, w: &mut #m::SlotWriter<'_>) {
                match *self {
                    #(Self::#idents(ref v) => <#tys as #m::Replicate>::write(v, w),)*
                }
            }

            #[inline]
            fn read_kind(kind: u16, r: &mut #m::SlotReader<'_>) -> ::core::option::Option<Self> {
                ::core::option::Option::Some(match kind {
                    #(#indices => Self::#idents(<#tys as #m::Replicate>::read(r)),)*
                    _ => return ::core::option::Option::None,
                })
            }
        }

        #(
            #[automatically_derived]
            impl ::core::convert::From<#tys> for #name {
                #[inline]
                fn from(v: #tys) -> Self {
                    Self::#idents(v)
                }
            }
        )*
    })
}

fn messages(input: &DeriveInput) -> Result<Tokens> {
    let data = variants(input, "Messages")?;
    let name = &input.ident;
    let m = field_mod();
    let (mut consts, mut any) = (Tokens::new(), false);
    let (mut types, mut writes, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    for ((v, variant), index) in data.variants.iter().enumerate().zip(0..=u16::MAX) {
        let ident = &variant.ident;
        if let Fields::Unnamed(_) = variant.fields {
            let msg = "`Messages` variants are unit variants or have named fields";
            return Err(Error::new_spanned(variant, msg));
        }
        let fields = named_fields(&variant.fields, v, false)?;
        consts.extend(attrs_consts(&fields, &format!("message `{ident}`")));
        let (msg_name, desc) = (ident.unraw().to_string(), describe(&fields));
        types.push(quote! {
            ::snapwire_shared::schema::MessageDesc {
                name: ::std::borrow::ToOwned::to_owned(#msg_name),
                fields: #desc,
            }
        });
        if let Fields::Unit = variant.fields {
            writes.push(quote!(Self::#ident => #index,));
            reads.push(quote!(#index => Self::#ident,));
            continue;
        }
        any |= live(&fields).next().is_some();
        let rest = (live(&fields).count() < fields.len()).then(|| quote!(..));
        // Bound under new names: a field may be called `w`.
        let bind = |f: &Field| format_ident!("__snap_{}", f.ident.unraw());
        let binds = live(&fields).map(|(f, _)| {
            let (ident, bind) = (f.ident, bind(f));
            quote!(#ident: ref #bind)
        });
        let calls = live(&fields).map(|(f, attrs)| {
            let (bind, ty) = (bind(f), f.ty);
            quote!(<#ty as #m::NetField>::write(#bind, &#attrs, w);)
        });
        writes.push(quote!(Self::#ident { #(#binds,)* #rest } => { #(#calls)* #index }));
        let inits = read_fields(&fields);
        reads.push(quote!(#index => Self::#ident { #inits },));
    }
    let (w, r) = (param("w", any), param("r", any));
    Ok(quote! {
        const _: () = {
            #consts

            #[automatically_derived]
            impl #m::MessageSet for #name {
                fn types() -> ::std::vec::Vec<::snapwire_shared::schema::MessageDesc> {
                    ::std::vec![#(#types),*]
                }

                fn write(&self, #w: &mut #m::SlotWriter<'_>) -> u16 {
                    match *self {
                        #(#writes)*
                    }
                }

                fn read(ty: u16, #r: &mut #m::SlotReader<'_>) -> ::core::option::Option<Self> {
                    ::core::option::Option::Some(match ty {
                        #(#reads)*
                        _ => return ::core::option::Option::None,
                    })
                }
            }
        };
    })
}

fn net_enum(input: &DeriveInput) -> Result<Tokens> {
    let data = variants(input, "NetEnum")?;
    let name = &input.ident;
    if let Some(v) = data
        .variants
        .iter()
        .find(|v| !matches!(v.fields, Fields::Unit))
    {
        return Err(Error::new_spanned(
            v,
            "`NetEnum` variants must be unit variants",
        ));
    }
    let idents: Vec<_> = data.variants.iter().map(|v| &v.ident).collect();
    let names = idents.iter().map(|i| i.unraw().to_string());
    let (first, rest) = (idents[0], &idents[1..]);
    // An unknown index is the first variant, so index 0 needs no arm.
    let (i, from_index) = if rest.is_empty() {
        (format_ident!("_i"), quote!(Self::#first))
    } else {
        let indices = 1..=u16::MAX;
        let arms = quote!(#(#indices => Self::#rest,)*);
        (
            format_ident!("i"),
            quote!(match i { #arms _ => Self::#first }),
        )
    };
    let (m, indices) = (field_mod(), 0..=u16::MAX);
    Ok(quote! {
        #[automatically_derived]
        impl #m::NetEnum for #name {
            const VARIANTS: &'static [&'static str] = &[#(#names),*];

            #[inline]
            fn index(self) -> u16 {
                match self {
                    #(Self::#idents => #indices,)*
                }
            }

            #[inline]
            fn from_index(#i: u16) -> Self {
                #from_index
            }
        }

        #[automatically_derived]
        impl #m::NetField for #name {
            const SLOTS: usize = 1;

            fn describe(
                name: &str,
                _: &#m::FieldAttrs,
                out: &mut ::std::vec::Vec<::snapwire_shared::schema::FieldDesc>,
            ) {
                out.push(::snapwire_shared::schema::FieldDesc {
                    name: ::std::borrow::ToOwned::to_owned(name),
                    ty: <Self as #m::NetEnum>::wire_type(),
                });
            }

            #[inline]
            fn write(&self, _: &#m::FieldAttrs, w: &mut #m::SlotWriter<'_>) {
                w.num(u32::from(<Self as #m::NetEnum>::index(*self)));
            }

            #[inline]
            fn read(_: &#m::FieldAttrs, r: &mut #m::SlotReader<'_>) -> Self {
                <Self as #m::NetEnum>::from_index(r.num() as u16)
            }
        }
    })
}
