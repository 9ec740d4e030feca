//! One file per subcommand: each ties the pipeline's stages to what the
//! command prints or writes.

pub mod aquery;
pub mod build;
pub mod explain;
pub mod fetch;
pub mod platforms;
pub mod query;
pub mod test;
pub mod toolchain;
pub mod verify;
