//! `images save FILE`: the stack's images in one file, for `install --images FILE` on a machine
//! without a registry.

use std::path::Path;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::stack::Stack;

/// The stack's image references, each once, in service order.
pub fn references(stack: &Stack) -> Vec<String> {
    let mut references: Vec<String> = Vec::new();
    for s in &stack.services {
        if !references.contains(&s.image) {
            references.push(s.image.clone());
        }
    }
    references
}

/// Writes every image of the stack into `file`; returns its size. An image not present is an
/// error that says how to get it.
pub async fn save(stack: &Stack, file: &Path) -> Result<u64> {
    let engine = super::session::connect().await?;
    let references = references(stack);
    for r in &references {
        if engine.image(r).await?.is_none() {
            return Err(Error::environment(msg!("engine.images.missing").arg("image", r))
                .hint(msg!("engine.images.save_missing.hint")));
        }
    }
    Ok(engine.save_images(&references, file).await?)
}
