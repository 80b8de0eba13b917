//! The council's pages: its information flow (`/rad/informationsflode`, in [`flow`], with
//! the [`diagram`] of the forums), an item between forums ([`item`]) and raising a new one
//! ([`new_item`]).

pub mod diagram;
pub mod flow;
pub mod item;
pub mod new_item;
pub mod open_items;
