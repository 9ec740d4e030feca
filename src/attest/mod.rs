//! What a build leaves behind to attest what it built: the record of every
//! action (`build --record`), manifests of the outputs, SLSA provenance.
//! Independent of `verify`, which reads records and writes manifests.

pub mod manifest;
pub mod provenance;
pub mod record;
