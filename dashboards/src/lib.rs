//! Planners' web pages, rendered on the server and embedded in the binary.
//!
//! Pages are askama templates (`templates/`, compiled in) over view models the API fills from
//! the store, the detectors and the tickets database ([`pages`]); charts are SVG drawn by
//! plotters ([`chart`]); the stylesheet and one small script ([`statics`]: sorting, filtering,
//! live refresh over server-sent events) are embedded too: no CDN, no build step, no files at
//! run time. Every label goes through [`i18n`] (English and Simplified Chinese).

pub mod chart;
pub mod i18n;
pub mod pages;
pub mod statics;

#[cfg(test)]
mod colour_tests;

pub use i18n::{Lang, Tr};
pub use pages::*;
