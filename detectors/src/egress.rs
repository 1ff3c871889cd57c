//! Egress declared without a URL: Terraform providers, DVC remotes, MLflow, Hugging Face pushes,
//! hosted fine-tuning calls. (Being written.)

use shekara_signatures::Ruleset;

use crate::Detector;

/// Finds egress that configuration and code declare.
#[derive(Debug)]
pub struct DeclaredEgress {}

impl DeclaredEgress {
    /// Builds the detector from the ruleset.
    pub fn new(_rules: &Ruleset) -> DeclaredEgress {
        DeclaredEgress {}
    }
}

impl Detector for DeclaredEgress {
    fn id(&self) -> &str {
        "declared_egress"
    }
}
