//! The capsule uuid: UUIDv5 in the URL namespace over
//! `event://{recvFrom}/?seqId={seqId}&dt={dt}`, rendered as 32 lowercase hex digits.

use sha1::{Digest, Sha1};
use uuid::Uuid;

/// Name from which a legacy capsule's uuid is derived. Each part must already be formatted the way
/// Python's `str()` formats it (ints in decimal, a missing value as `None`).
pub fn capsule_uuid_name(recv_from: &str, seq_id: &str, dt: &str) -> String {
    let mut name = String::with_capacity(24 + recv_from.len() + seq_id.len() + dt.len());
    name.push_str("event://");
    name.push_str(recv_from);
    name.push_str("/?seqId=");
    name.push_str(seq_id);
    name.push_str("&dt=");
    name.push_str(dt);
    name
}

/// The URL namespace of RFC 9562 (`6ba7b811-9dad-11d1-80b4-00c04fd430c8`).
const NAMESPACE_URL: [u8; 16] = *Uuid::NAMESPACE_URL.as_bytes();

/// UUIDv5 (URL namespace) of `name` as bytes: SHA-1 over namespace and name, the first 16 bytes
/// with the version (5) and variant (RFC) bits set. SHA-1 comes from the `sha1` crate, which uses
/// the CPU's SHA instructions where there are some (a capsule uuid is computed for every line).
fn uuid5(name: &[u8]) -> Uuid {
    let mut hasher = Sha1::new();
    hasher.update(NAMESPACE_URL);
    hasher.update(name);
    let digest = hasher.finalize();
    let mut bytes = [0_u8; 16];
    for (byte, digest_byte) in bytes.iter_mut().zip(digest.iter()) {
        *byte = *digest_byte;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// UUIDv5 (URL namespace) of `name`, as 32 lowercase hex digits without dashes.
pub fn uuid5_hex(name: &str) -> String {
    let mut hex = [0_u8; uuid::fmt::Simple::LENGTH];
    uuid5(name.as_bytes())
        .simple()
        .encode_lower(&mut hex)
        .to_owned()
}

/// The capsule uuid in the usual hyphenated form (`8-4-4-4-12`), as Event Platform `meta.id`s are.
pub fn capsule_uuid_hyphenated(recv_from: &str, seq_id: &str, dt: &str) -> String {
    uuid5(capsule_uuid_name(recv_from, seq_id, dt).as_bytes())
        .hyphenated()
        .to_string()
}

/// The capsule uuid for the given parts (see [`capsule_uuid_name`]).
pub fn capsule_uuid(recv_from: &str, seq_id: &str, dt: &str) -> String {
    uuid5_hex(&capsule_uuid_name(recv_from, seq_id, dt))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference §3.2: every example, verified there with an independent uuid5.
    #[test]
    fn reference_examples() {
        let cases = [
            (
                "srv0.example.org",
                "132073",
                "2013-01-19T23:16:38Z",
                "749684341abf513186c71f74c6a09502",
            ),
            (
                "fenari",
                "12345",
                "2013-01-21T18:10:34.912000",
                "93e0f58d0c605e90a3c4861b1f00c407",
            ),
            (
                "cp3030.esams.wmnet",
                "12345678",
                "2019-12-20T10:11:12Z",
                "c30e6e3cd2785ebe8f7933b22114e742",
            ),
            (
                "cp3030.esams.wmnet",
                "1",
                "2019-12-20T10:11:12Z",
                "5e9004f6963f5d80a7508833046e8558",
            ),
            (
                "srv0.example.org",
                "None",
                "2013-01-19T23:16:38Z",
                "ad6149e187645f75a057e461a3c9a6c5",
            ),
            (
                "spoofed.example",
                "77",
                "2020-01-01T00:00:00.500000+02:00",
                "02d76777449451cf93ce8e3072bb8be8",
            ),
            (
                "fenari",
                "99",
                "2013-01-19T20:25:15Z",
                "96270ff278b057bbb100ebb41239a83a",
            ),
        ];
        for (recv, seq, dt, want) in cases {
            assert_eq!(capsule_uuid(recv, seq, dt), want, "{recv} {seq} {dt}");
        }
    }

    #[test]
    fn agrees_with_the_uuid_crate_on_names_of_every_length() {
        // Lengths around the SHA-1 block and padding boundaries (55/56 and 119/120 bytes with
        // the 16-byte namespace in front).
        for length in 0..300 {
            let name: String = (0..length)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            let want = Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes());
            assert_eq!(uuid5(name.as_bytes()), want, "name of {length} bytes");
        }
    }

    #[test]
    fn hyphenated_form_is_the_same_uuid() {
        assert_eq!(
            capsule_uuid_hyphenated("cp3030.esams.wmnet", "12345678", "2019-12-20T10:11:12Z"),
            "c30e6e3c-d278-5ebe-8f79-33b22114e742"
        );
    }

    #[test]
    fn pre_2017_names_still_hash_like_the_reference() {
        assert_eq!(
            uuid5_hex("event://cp3022.esams.wikimedia.org/?seqId=132073&timestamp=1358637398"),
            "799341a01ba957c79b15dc4d2d950864"
        );
        assert_eq!(
            uuid5_hex("event://fenari/?seqId=99&timestamp=1358627115"),
            "67cc2c1afa5752ba80bbbd7c5fc41f28"
        );
    }
}
