//! Sending: the machinery every mail uses, whatever sent it. The schedule (offsets, quiet
//! hours, windows and the frequency cap) is in [`schedule`] over the business [`calendar`];
//! mails are composed in [`mail`] from the [`templates`]; the [`ledger`] records each mail once
//! ([`ports`]: its claims, under the cap, and the mailer); A/B tests are the pure [`ab`] rules.
//! Step mails are sent by [`crate::sequences`].

pub mod config;

pub mod ab;
pub mod calendar;
pub mod ledger;
pub mod mail;
pub mod ports;
pub mod schedule;
pub mod templates;
