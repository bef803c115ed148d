//! Proptest strategies shared by this crate tests.
