//! Endpoint detection: hosts, URI schemes and ARNs mapped to provider, region and country.
//! (Being written: see the endpoint table in `signatures/data/endpoints.toml`.)

use shekara_signatures::Ruleset;

use crate::Detector;

/// Finds cloud storage, AI API and model-hub endpoints.
#[derive(Debug)]
pub struct Endpoints {}

impl Endpoints {
    /// Builds the detector from the ruleset's endpoint table.
    pub fn new(_rules: &Ruleset) -> Endpoints {
        Endpoints {}
    }
}

impl Detector for Endpoints {
    fn id(&self) -> &str {
        "endpoints"
    }
}
