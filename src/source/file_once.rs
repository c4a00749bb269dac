//! Files read once, each to its end (the `process` command).

use std::fs::File;
use std::path::PathBuf;

use super::{stream_reader, SourceContext, SourceError};

/// Reads each file to its end, in order. `-` means standard input.
pub fn read_files(ctx: &SourceContext, paths: &[PathBuf]) -> Result<u64, SourceError> {
    let mut lines = 0;
    for (index, path) in paths.iter().enumerate() {
        if ctx.stopping() {
            break;
        }
        let stream = index as u64;
        let name = path.display().to_string();
        if path.as_os_str() == "-" {
            let stdin = std::io::stdin();
            lines += stream_reader::read_to_end(ctx, stream, "stdin", stdin.lock())?;
            continue;
        }
        let file = File::open(path).map_err(|error| SourceError::Open {
            path: path.clone(),
            error,
        })?;
        lines += stream_reader::read_to_end(ctx, stream, &name, file)?;
    }
    Ok(lines)
}
