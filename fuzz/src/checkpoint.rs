//! The `checkpoint_loader` target: the tailer's checkpoint-file loader.
//!
//! The input is the content of `checkpoints.json`, optionally followed by a NUL byte and the
//! content of `checkpoints.json.tmp` (a write interrupted before its rename; JSON text cannot
//! contain a raw NUL). Each content is parsed with the pure `parse_checkpoints`; then both files
//! are written into a scratch data directory and the real loader, `CheckpointStore::open`, must
//! make the choice the parses imply:
//!
//! - a file of a newer format version fails the open;
//! - otherwise the loaded entries are those of the temporary file when it is usable and has a
//!   higher sequence than a usable main file (or the main file is unusable), else those of the
//!   main file, else none; an unusable main file is set aside as `checkpoints.json.corrupt`; the
//!   temporary file is always gone afterwards.
//!
//! A usable main file is also written back through `CheckpointStore::write` and loaded again,
//! which must give the same entries.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use beacon_processor::source::tail::{
    parse_checkpoints, CheckpointEntry, CheckpointError, CheckpointStore,
};

const MAIN_NAME: &str = "checkpoints.json";
const TEMP_NAME: &str = "checkpoints.json.tmp";
const CORRUPT_NAME: &str = "checkpoints.json.corrupt";

/// A usable file: its write sequence and entries.
type Usable = (u64, Vec<CheckpointEntry>);

/// The scratch data directory of this process (on `/dev/shm` when there is one: the loader's
/// writes fsync). It is left behind when the fuzzer exits.
fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let builder = tempfile::Builder::new()
            .prefix("beacon-checkpoint-fuzz-")
            .tempdir_in(if shm.is_dir() {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            });
        match builder {
            Ok(dir) => dir.keep(),
            Err(e) => panic!("cannot create a scratch directory: {e}"),
        }
    })
}

/// The `checkpoint_loader` target.
pub fn check_checkpoint_file(data: &[u8]) {
    let (main, temp) = match data.iter().position(|&byte| byte == 0) {
        Some(at) => (data.get(..at).unwrap_or_default(), data.get(at + 1..)),
        None => (data, None),
    };
    let dir = scratch_dir();
    let main_parsed = parse_checkpoints(&dir.join(MAIN_NAME), main);
    let temp_parsed = temp.map(|temp| parse_checkpoints(&dir.join(TEMP_NAME), temp));

    for name in [MAIN_NAME, TEMP_NAME, CORRUPT_NAME] {
        let _ = fs::remove_file(dir.join(name));
    }
    write(&dir.join(MAIN_NAME), main);
    if let Some(temp) = temp {
        write(&dir.join(TEMP_NAME), temp);
    }
    let opened = CheckpointStore::open(dir);

    let newer = |parsed: &Result<Result<Usable, String>, CheckpointError>| {
        matches!(parsed, Err(CheckpointError::NewerVersion { .. }))
    };
    if newer(&main_parsed) || temp_parsed.as_ref().is_some_and(newer) {
        assert!(
            matches!(opened, Err(CheckpointError::NewerVersion { .. })),
            "a newer format version must fail the open, got {opened:?}"
        );
        return;
    }
    let loaded = opened.unwrap_or_else(|e| panic!("the loader failed: {e}"));
    let main_usable = main_parsed.ok().and_then(Result::ok);
    let main_was_unusable = main_usable.is_none();
    let temp_usable = temp_parsed.and_then(Result::ok).and_then(Result::ok);
    let expected = match (main_usable, temp_usable) {
        (Some(main), Some(temp)) if temp.0 > main.0 => temp.1,
        (Some(main), _) => main.1,
        (None, Some(temp)) => temp.1,
        (None, None) => Vec::new(),
    };
    assert_eq!(loaded.entries, expected, "the loader picked other entries");
    assert!(loaded.store.existed(), "a checkpoint file existed");
    assert!(!dir.join(TEMP_NAME).exists(), "the temporary file is left");
    assert_eq!(
        dir.join(CORRUPT_NAME).exists(),
        main_was_unusable,
        "only an unusable main file is set aside"
    );

    if !main_was_unusable {
        let mut store = loaded.store;
        if let Err(e) = store.write(expected.clone()) {
            panic!("writing the loaded entries back failed: {e}");
        }
        drop(store);
        let again = CheckpointStore::open(dir).unwrap_or_else(|e| panic!("reloading failed: {e}"));
        assert_eq!(again.entries, expected, "entries changed through a write");
    }
}

fn write(path: &Path, bytes: &[u8]) {
    if let Err(e) = fs::write(path, bytes) {
        panic!("cannot write {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &[u8] = b"{\"version\":1,\"sequence\":7,\"written_at\":1700000000,\"files\":[\n{\"path\":\"/logs/a.log\",\"dev\":1,\"ino\":2,\"head\":{\"len\":4,\"hash\":5},\"offset\":10,\"window\":{\"len\":4,\"hash\":6},\"last_seen\":1700000000}\n]}\n";

    #[test]
    fn valid_torn_newer_and_recovered_files_pass_the_checks() {
        check_checkpoint_file(VALID);
        check_checkpoint_file(b"{\"version\":1,\"sequence\":7,\"wri");
        check_checkpoint_file(b"{\"version\": 99, \"sequence\": 1, \"files\": []}");
        let mut recovered =
            b"{\"version\":1,\"sequence\":3,\"written_at\":0,\"files\":[]}".to_vec();
        recovered.push(0);
        recovered.extend_from_slice(VALID);
        check_checkpoint_file(&recovered);
        let parsed = parse_checkpoints(Path::new(MAIN_NAME), VALID);
        assert!(matches!(parsed, Ok(Ok((7, ref entries))) if entries.len() == 1));
    }
}
