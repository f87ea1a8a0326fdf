//! The todos crate's integration tests, as one test binary: each module was its own binary before, and
//! every binary linked the AWS SDK again. Run one part with a filter, e.g.
//! `cargo test -p todos --test it dev_server::`.

mod support;

mod dev_server;
mod events;
mod faults;
mod fuzz_regressions;
mod load;
mod openapi;
mod store_contract;
